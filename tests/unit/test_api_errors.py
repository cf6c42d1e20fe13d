"""The one error mapping: storage throttling and timeouts are 503 JSON with Retry-After (issue 9
item 8); validation errors are 400 `{"error", "field"}`, after the token check."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest
from botocore.exceptions import ClientError, ConnectTimeoutError, ReadTimeoutError

from ferry.api.app import build_api
from tests.support.api_events import http_event

TOKEN = {"Authorization": "Bearer t"}


def api_whose_storage_raises(exc: Exception):
    def fail(*args, **kwargs):
        raise exc

    svc = SimpleNamespace(
        keys=SimpleNamespace(is_valid=lambda token: token == "t"),
        messages=SimpleNamespace(get=fail, cancel_many=fail),
    )
    return build_api(lambda: svc)


@pytest.mark.parametrize(
    "exc",
    [
        ClientError({"Error": {"Code": "ProvisionedThroughputExceededException"}}, "Query"),
        ClientError({"Error": {"Code": "ThrottlingException"}}, "GetSecretValue"),
        ClientError({"Error": {"Code": "X"}, "ResponseMetadata": {"HTTPStatusCode": 503}}, "Query"),
        ReadTimeoutError(endpoint_url="https://dynamodb"),
        ConnectTimeoutError(endpoint_url="https://dynamodb"),
    ],
    ids=["dynamodb-throughput", "throttling", "http-503", "read-timeout", "connect-timeout"],
)
def test_storage_throttling_or_timeouts_are_503_with_retry_after(exc):
    api = api_whose_storage_raises(exc)
    for event in (
        http_event("GET", "/v2/messages/msg_1", headers=TOKEN),
        http_event("DELETE", "/v2/messages", headers=TOKEN),
    ):
        response = api.handle(event, None)
        assert response["statusCode"] == 503
        assert int(response["headers"]["Retry-After"]) > 0
        assert "retry" in json.loads(response["body"])["error"].lower()


def test_any_other_storage_error_stays_a_500_quoting_the_request_id():
    api = api_whose_storage_raises(ClientError({"Error": {"Code": "AccessDenied"}}, "Query"))
    response = api.handle(http_event("GET", "/v2/messages/msg_1", headers=TOKEN), None)
    assert response["statusCode"] == 500
    assert "request id" in json.loads(response["body"])["error"]


def test_a_validation_error_names_the_field():
    api = api_whose_storage_raises(AssertionError("never reached"))
    event = http_event("DELETE", "/v2/messages", headers=TOKEN, body='{"messageId": ["x"]}')
    response = api.handle(event, None)
    assert response["statusCode"] == 400
    body = json.loads(response["body"])
    assert body["field"] == "messageIds" and "messageId is not a field" in body["error"]


def test_an_unauthenticated_malformed_request_is_401_not_400():
    api = api_whose_storage_raises(AssertionError("never reached"))
    event = http_event("DELETE", "/v2/messages", body='{"messageId": ["x"]}')
    assert api.handle(event, None)["statusCode"] == 401


@pytest.mark.parametrize(
    "content_type",
    ["multipart/form-data", "multipart/form-data; boundary=x", "application/x-www-form-urlencoded"],
)
def test_a_json_route_refuses_other_body_types_with_400(content_type):
    # Found by schemathesis: multipart without a boundary raised a bare ValueError (a 500).
    api = api_whose_storage_raises(AssertionError("never reached"))
    headers = {**TOKEN, "Content-Type": content_type}
    event = http_event("DELETE", "/v2/messages", headers=headers, body="messageIds=a")
    response = api.handle(event, None)
    assert response["statusCode"] == 400
    assert json.loads(response["body"])["field"] == "body"


def test_a_body_that_is_not_utf8_is_invalid_json_not_a_500():
    # Found by schemathesis: powertools decoded the body as UTF-8 and raised UnicodeDecodeError.
    api = api_whose_storage_raises(AssertionError("never reached"))
    event = http_event("DELETE", "/v2/messages", headers=TOKEN, body=b'{"messageIds": ["\xc0"]}')
    response = api.handle(event, None)
    assert response["statusCode"] == 400
    assert "UTF-8" in json.loads(response["body"])["error"]
