"""docs/api.md says what each error looks like (issue 9), and it is what the API answers: each
example body in its Errors section is the real handler's answer to that request (over in-memory
twins), every status the API or `ferry dev`'s front end can answer has a row, and every body is
`{"error", "field"?}` only."""

from __future__ import annotations

import json
import pathlib
import re

import pytest
from botocore.exceptions import ClientError, ReadTimeoutError

from ferry.dev import gateway
from ferry.domain import errors
from ferry.usecases.dashboard_sign_in import DashboardSignIn
from tests.support.api_events import http_event
from tests.support.wsgi_api import TwinApi
from tests.unit.test_api_errors import TOKEN, api_whose_storage_raises

DOC = pathlib.Path(__file__).resolve().parents[2] / "docs" / "api.md"
AUTH = {"Authorization": "Bearer token"}
JSON = {**AUTH, "Content-Type": "application/json"}
PUBLISH = "/v2/publish/https://example.com/x"

# (the row's status, method, path, headers, body): one request per documented example body.
EXAMPLES = [
    (400, "POST", PUBLISH, {**AUTH, "Upstash-Retries": "50"}, b"x"),
    (400, "DELETE", "/v2/messages", JSON, b'{"messageId": ["msg_x"]}'),
    (400, "DELETE", "/v2/messages", JSON, b'{"messageIds": 5}'),
    (400, "POST", "/v2/queues", JSON, b'{"queueName": "emails", "parallelism": 0}'),
    (400, "GET", "/v2/events?fromDate=2000&toDate=1000", AUTH, None),
    (400, "GET", "/v2/events?bogus=1", AUTH, None),
    (400, "DELETE", "/v2/messages", JSON, b'{"messageIds": ['),
    (400, "POST", "/v2/publish/http://%zz/bad", AUTH, b"x"),
    (400, "POST", "/v2/publish/http://127.1/x", AUTH, b"x"),
    (400, "POST", PUBLISH, {**AUTH, "Upstash-Forward-X": "a\r\nX-Injected: 1"}, b"x"),
    (400, "POST", PUBLISH, {**AUTH, "Upstash-Flow-Control-Value": "rate=3"}, b"x"),
    (401, "POST", PUBLISH, {}, b"x"),
    (401, "POST", PUBLISH, {"Authorization": "Bearer not-the-token"}, b"x"),
    (401, "POST", "/dashboard/session", {"Content-Type": "application/json"}, b'{"code": "1.2.3"}'),
    (404, "GET", "/v2/messages/msg_nope", AUTH, None),
    (404, "GET", "/v2/queues/nope", AUTH, None),
    (404, "PUT", "/v2/messages", AUTH, None),
    (404, "GET", "/v2/workflows/logs", AUTH, None),
    (413, "POST", PUBLISH, AUTH, b"x" * 2_000_000),
]


def errors_section() -> str:
    text = DOC.read_text(encoding="utf-8")
    start = text.index("\n## Errors\n")
    return text[start : text.index("\n## ", start + 1)]


def rows() -> list[tuple[int, str]]:
    """(status, the whole row) of every table row in the Errors section."""
    return [(int(m.group(1)), m.group(0)) for m in re.finditer(r"^\| (\d{3}) \|.*$", errors_section(), re.M)]


def documented(status: int, body: str) -> bool:
    return any(s == status and f"`{body}`" in row for s, row in rows())


def twin_api():
    twin = TwinApi()
    twin.services.dashboard_sign_in = DashboardSignIn(api_token=lambda: twin.token, clock=twin.world.clock)
    return twin.api


@pytest.mark.parametrize(("status", "method", "path", "headers", "body"), EXAMPLES)
def test_each_documented_error_body_is_what_the_api_answers(status, method, path, headers, body):
    response = twin_api().handle(http_event(method, path, headers=headers, body=body), None)
    assert response["statusCode"] == status, response["body"]
    assert set(json.loads(response["body"])) <= {"error", "field"}
    assert documented(status, response["body"]), f"docs/api.md has no {status} row with `{response['body']}`"


@pytest.mark.parametrize(
    "exc",
    [ClientError({"Error": {"Code": "ThrottlingException"}}, "Query"), ReadTimeoutError(endpoint_url="x")],
)
def test_the_documented_503_is_what_throttled_or_silent_storage_answers(exc):
    response = api_whose_storage_raises(exc).handle(http_event("GET", "/v2/messages/m", headers=TOKEN), None)
    assert (response["statusCode"], response["headers"]["Retry-After"]) == (503, "2")
    assert documented(503, response["body"]), response["body"]
    assert "Retry-After: 2" in dict(rows())[503]


def test_the_documented_500_quotes_the_request_id_that_the_log_line_carries(caplog):
    api = api_whose_storage_raises(ClientError({"Error": {"Code": "AccessDenied"}}, "Query"))
    event = http_event("GET", "/v2/messages/m", headers=TOKEN)
    event["requestContext"]["requestId"] = "3f2a9c0d1e2b4a5f"
    response = api.handle(event, None)
    assert response["statusCode"] == 500
    assert documented(500, response["body"]), response["body"]
    [logged] = [r for r in caplog.records if r.getMessage() == "unexpected error"]
    assert getattr(logged, "request_id", None) == "3f2a9c0d1e2b4a5f"


def test_every_status_the_api_answers_has_a_row():
    raised = {
        cls.status for cls in vars(errors).values() if isinstance(cls, type) and cls.__dict__.get("status")
    }
    # + validation (400), no route (404), storage busy (503), unexpected (500): ferry/api/app.py.
    statuses = raised | {400, 404, 500, 503}
    assert statuses <= {status for status, _ in rows()}, sorted(statuses - {s for s, _ in rows()})


def test_every_front_end_error_of_ferry_dev_is_documented():
    section = errors_section().split("### Errors of `ferry dev`'s front end", 1)[1]
    for status, (error, field) in gateway._FRONT_END_ERRORS.items():
        body = json.dumps({"error": error, **({"field": field} if field else {})})
        assert f"| {status} |" in section and f"`{body}`" in section, body
    for body in (
        gateway._too_large().body,
        {"error": "internal error in the dev gateway; see ferry dev's log"},
    ):
        assert f"`{json.dumps(body)}`" in section, body
