"""A JSON body is refused (400, the field "body") when it holds what Python's json module reads but
no JSON text can carry: `NaN`, `Infinity`, a number that overflows to it, an integer past Python's
digit limit, or a lone surrogate. Otherwise each would be stored and fail later: sent on as
invalid JSON, or a 500 or a 503 "retry" when the body or a header is encoded."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from ferry.api.app import build_api
from ferry.api.http import parse_json_body
from tests.support.api_events import http_event

HEADERS = {"Authorization": "Bearer t", "Content-Type": "application/json"}

NOT_JSON = {
    "nan": '{"a": NaN}',
    "infinity": '{"a": Infinity}',
    "minus-infinity": '{"a": [1, -Infinity]}',
    "overflowing-float": '{"a": 1e999}',
    "5000-digit-integer": '{"a": ' + "7" * 5000 + "}",
    "surrogate-in-value": '{"a": "x\\ud800"}',
    "surrogate-in-key": '{"\\udfff": 1}',
    "surrogate-deep-in-a-list": '{"a": [{"b": ["ok", "\\udc00"]}]}',
}


@pytest.mark.parametrize("text", NOT_JSON.values(), ids=NOT_JSON.keys())
def test_a_body_no_json_text_can_carry_is_invalid_json(text):
    for data in (text, text.encode()):
        with pytest.raises(json.JSONDecodeError):
            parse_json_body(data)


def test_json_python_reads_the_same_way_is_unchanged():
    text = '{"emoji": "\\ud83d\\ude00", "n": [1, -2.5, 1e308, 12345678901234567890], "s": "caf\\u00e9"}'
    assert parse_json_body(text) == json.loads(text)
    assert parse_json_body(text.encode()) == json.loads(text)


def api_counting_publishes():
    published = []

    def publish(**kwargs):
        published.append(kwargs)
        return SimpleNamespace(to_body=lambda: {"messageId": "msg_1"})

    svc = SimpleNamespace(keys=SimpleNamespace(is_valid=lambda token: token == "t"), publish=publish)
    return build_api(lambda: svc), published


BATCH_ITEMS = {
    "nan-in-body": '[{"destination": "https://example.com/x", "body": {"a": NaN}}]',
    "minus-infinity-in-body": '[{"destination": "https://example.com/x", "body": [-Infinity]}]',
    "overflow-in-body": '[{"destination": "https://example.com/x", "body": {"a": 1e999}}]',
    "5000-digit-integer-in-body": '[{"destination": "https://example.com/x", "body": [' + "7" * 5000 + "]}]",
    "surrogate-in-body": '[{"destination": "https://example.com/x", "body": "\\ud800"}]',
    "surrogate-in-header": '[{"destination": "https://example.com/x", "headers": {"X-A": "\\ud800"}}]',
}


@pytest.mark.parametrize("raw", BATCH_ITEMS.values(), ids=BATCH_ITEMS.keys())
def test_a_batch_holding_such_json_is_refused_naming_the_body_and_publishes_nothing(raw):
    api, published = api_counting_publishes()
    answer = api.handle(http_event("POST", "/v2/batch", headers=HEADERS, body=raw), None)
    assert answer["statusCode"] == 400, answer["body"]
    error = json.loads(answer["body"])
    assert error["field"] == "body"
    assert "not valid JSON" in error["error"]
    assert published == []


def test_without_the_token_such_a_body_is_still_401_first():
    api, published = api_counting_publishes()
    headers = {**HEADERS, "Authorization": "Bearer wrong"}
    answer = api.handle(
        http_event("POST", "/v2/batch", headers=headers, body=BATCH_ITEMS["nan-in-body"]), None
    )
    assert answer["statusCode"] == 401
    assert published == []
