"""`ferry dev`'s front end answers what the HTTP parser or API Gateway would refuse with JSON
errors like the API's own (issue 9, item 12), in front of the real API handler."""

from __future__ import annotations

import http.client
import json
import socket

import pytest

pytestmark = pytest.mark.integration


def raw(stack, request: bytes) -> tuple[int, bytes]:
    host, port = stack.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(request)
        response = http.client.HTTPResponse(sock)
        response.begin()
        return response.status, response.read()


def auth(stack) -> bytes:
    return f"Authorization: Bearer {stack.secrets.api_token}\r\n".encode()


@pytest.mark.parametrize(
    "request_bytes, statuses",
    [
        (
            lambda a: b"OPTIONS /v2/publish/http://127.0.0.1:9/x HTTP/1.1\r\nHost: f\r\n" + a + b"\r\n",
            (404, 405),
        ),
        (lambda a: b"TRACE /v2/messages HTTP/1.1\r\nHost: f\r\n" + a + b"\r\n", (501,)),
        (lambda a: b"BREW /v2/messages HTTP/1.1\r\nHost: f\r\n" + a + b"\r\n", (501,)),
        (
            lambda a: b"GET /v2/dlq HTTP/1.1\r\nHost: f\r\n" + a + b"X-Big: " + b"b" * 70_000 + b"\r\n\r\n",
            (431,),
        ),
        (
            lambda a: (
                b"GET /v2/dlq HTTP/1.1\r\nHost: f\r\n"
                + a
                + b"".join(b"X-%d: v\r\n" % i for i in range(150))
                + b"\r\n"
            ),
            (431,),
        ),
        (
            lambda a: (
                b"POST /v2/publish/http://127.0.0.1:9/x HTTP/1.1\r\nHost: f\r\n"
                + a
                + b"Content-Length: abc\r\n\r\n"
            ),
            (400,),
        ),
    ],
    ids=["options", "trace", "unknown-method", "70kb-header", "150-headers", "content-length-abc"],
)
def test_front_end_refusals_are_json_errors_like_the_apis(stack, request_bytes, statuses):
    status, body = raw(stack, request_bytes(auth(stack)))
    assert status in statuses, body
    assert json.loads(body)["error"]
