"""`ferry dev`'s API Gateway stand-in: concurrency as Lambda's, and errors of its own as JSON."""

from __future__ import annotations

import base64
import http.client
import json
import socket
import threading
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from ferry.dev.gateway import Gateway
from tests.support.waiting import wait_until


class HeldHandler:
    """An API handler that holds every invocation until released, counting those in flight."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.in_flight = 0
        self.most_in_flight = 0
        self._lock = threading.Lock()

    def __call__(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        with self._lock:
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
        self.release.wait(30)
        with self._lock:
            self.in_flight -= 1
        return {"statusCode": 200, "body": json.dumps({"path": event["rawPath"]})}


@pytest.fixture
def held() -> HeldHandler:
    return HeldHandler()


def serve(handler, **options) -> Gateway:
    gateway = Gateway(handler, port=0, **options)
    gateway.start()
    return gateway


def get(gateway: Gateway, path: str) -> dict:
    with urllib.request.urlopen(gateway.url + path, timeout=30) as response:
        return json.loads(response.read())


def test_requests_run_concurrently_up_to_the_concurrency_limit_and_the_rest_wait_their_turn(held):
    gateway = serve(held, max_concurrency=3)
    try:
        with ThreadPoolExecutor(max_workers=8) as pool:
            answers = pool.map(lambda i: get(gateway, f"/v2/r{i}"), range(8))
            wait_until(lambda: held.in_flight == 3, what="three invocations in flight")
            held.release.set()
            assert [a["path"] for a in answers] == [f"/v2/r{i}" for i in range(8)]
        assert held.most_in_flight == 3
    finally:
        held.release.set()
        gateway.stop()


# --- the front end's own errors are JSON ---------------------------------------------------------


class Echo:
    """An API handler that answers with what reached it."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    def __call__(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        self.events.append(event)
        body = base64.b64decode(event["body"]) if event["body"] else b""
        answer = {"method": event["requestContext"]["http"]["method"], "body": body.decode()}
        return {
            "statusCode": 200,
            "headers": {"Content-Type": "application/json"},
            "body": json.dumps(answer),
        }


@pytest.fixture
def echo() -> Iterator[tuple[Gateway, Echo]]:
    handler = Echo()
    gateway = serve(handler)
    try:
        yield gateway, handler
    finally:
        gateway.stop()


def raw(gateway: Gateway, request: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send bytes as they are; the status, headers and body of the one answer."""
    host, port = gateway.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(request)
        response = http.client.HTTPResponse(sock)
        response.begin()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()


def assert_json_error(status: int, headers: dict[str, str], body: bytes, field: str | None = None) -> dict:
    assert headers["content-type"] == "application/json"
    answer = json.loads(body)
    assert answer["error"]
    if field is not None:
        assert answer["field"] == field
    assert b"<html" not in body.lower() and b"Traceback" not in body
    return answer


def refused(echo: tuple[Gateway, Echo], request: bytes, status: int, field: str | None = None) -> dict:
    """The gateway's answer to `request`: `status` with a JSON error (naming `field`), and nothing
    reached the API."""
    gateway, handler = echo
    got, headers, body = raw(gateway, request)
    assert got == status
    answer = assert_json_error(got, headers, body, field)
    assert handler.events == []
    return answer


def test_a_header_over_64_kib_is_a_431_in_json(echo):
    refused(echo, b"GET /v2/x HTTP/1.1\r\nHost: a\r\nX-Big: " + b"a" * 70_000 + b"\r\n\r\n", 431, "headers")


def test_more_than_100_headers_is_a_431_in_json(echo):
    many = b"".join(b"X-H%d: v\r\n" % i for i in range(150))
    refused(echo, b"GET /v2/x HTTP/1.1\r\nHost: a\r\n" + many + b"\r\n", 431, "headers")


@pytest.mark.parametrize("method", ["TRACE", "CONNECT", "FETCH"])
def test_a_method_api_gateway_does_not_route_is_a_501_in_json(echo, method):
    answer = refused(echo, f"{method} /v2/x HTTP/1.1\r\nHost: a\r\n\r\n".encode(), 501, "method")
    assert method in answer["error"]


def test_options_reaches_the_api_as_behind_an_any_route(echo):
    gateway, _handler = echo
    status, _, body = raw(gateway, b"OPTIONS /v2/publish/x HTTP/1.1\r\nHost: a\r\n\r\n")
    assert status == 200
    assert json.loads(body)["method"] == "OPTIONS"


@pytest.mark.parametrize("length", [b"abc", b"-5", b"1e3", b"12, 13", b"\xb2", b"1_0", b"9" * 30])
def test_a_malformed_content_length_is_a_400_in_json_and_reaches_nothing(echo, length, capfd):
    request = b"POST /v2/publish/x HTTP/1.1\r\nHost: a\r\nContent-Length: " + length + b"\r\n\r\nbody"
    refused(echo, request, 400, "Content-Length")
    assert "Traceback" not in capfd.readouterr().err


def test_a_body_over_10_mb_is_a_413_in_json_without_reading_it(echo):
    request = b"POST /v2/publish/x HTTP/1.1\r\nHost: a\r\nContent-Length: %d\r\n\r\n" % (11 * 1024 * 1024)
    refused(echo, request, 413, "body")


@pytest.mark.parametrize(
    ("chunks", "whole"),
    [
        (b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n", "hello world"),
        # Leading zeros: RFC 9112 7.1 bounds the size, not its digits.
        (b"000000005\r\nhello\r\n0000\r\n\r\n", "hello"),
    ],
    ids=["two-chunks", "leading-zeros"],
)
def test_a_chunked_body_reaches_the_api_whole(echo, chunks, whole):
    gateway, _handler = echo
    request = b"POST /v2/publish/x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n" + chunks
    status, _, body = raw(gateway, request)
    assert status == 200
    assert json.loads(body)["body"] == whole


@pytest.mark.parametrize("line", [b"not a header", b"Bad Name: 1", b"X-Name : 1", b": no name"])
def test_a_header_line_that_is_not_a_field_is_a_400_in_json_and_reaches_nothing(echo, line):
    refused(echo, b"GET /v2/x HTTP/1.1\r\nHost: a\r\n" + line + b"\r\nX-After: 1\r\n\r\n", 400, "headers")


def test_header_fields_reach_the_api_as_an_http_api_passes_them(echo):
    gateway, handler = echo
    request = (
        b"GET /v2/x HTTP/1.1\r\nHost: a\r\nX-Twice: one\r\nx-twice: two\r\n"
        b"X-Folded: first\r\n   second\r\nX-Spaced:  \t padded \t\r\nX-Latin: caf\xe9\r\n\r\n"
    )
    status, _, _ = raw(gateway, request)
    assert status == 200
    [event] = handler.events
    assert event["headers"] == {
        "host": "a",
        "x-twice": "one,two",
        "x-folded": "first second",
        "x-spaced": "padded",
        "x-latin": "café",
    }


def until_closed(gateway: Gateway, requests: bytes) -> bytes:
    """Everything the gateway answers to `requests` (sent at once) until it closes the connection
    (a timeout if it never does)."""
    host, port = gateway.url.removeprefix("http://").split(":")
    received = b""
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(requests)
        while chunk := sock.recv(65536):
            received += chunk
    return received


def test_a_connection_carries_requests_until_the_client_asks_to_close(echo):
    gateway, handler = echo
    received = until_closed(
        gateway,
        b"GET /v2/one HTTP/1.1\r\nHost: a\r\n\r\n"
        b"GET /v2/two HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"
        b"GET /v2/three HTTP/1.1\r\nHost: a\r\n\r\n",
    )
    assert received.count(b"HTTP/1.1 200 ") == 2
    assert [e["rawPath"] for e in handler.events] == ["/v2/one", "/v2/two"]


def test_an_http_1_0_request_is_answered_and_the_connection_closed(echo):
    gateway, handler = echo
    received = until_closed(gateway, b"GET /v2/old HTTP/1.0\r\nHost: a\r\n\r\nGET /v2/never HTTP/1.0\r\n\r\n")
    assert received.count(b" 200 ") == 1
    assert [e["rawPath"] for e in handler.events] == ["/v2/old"]


@pytest.mark.parametrize(
    "request_line, status",
    [
        (b"GET /v2/x HTTP/2.0", 505),
        (b"GET /v2/x HTTP/1", 400),
        (b"GET /v2/x FTP/1.1", 400),
        (b"GET /v2/x", 400),
        (b"GET /v2/x HTTP/\xb9.\xb9", 400),  # superscript ones: str.isdigit() says yes
        (b"GET  /v2/x HTTP/1.1", 400),
        (b"GET /v2/x\tHTTP/1.1", 400),
    ],
)
def test_a_request_line_without_http_1_is_refused_in_json(echo, request_line, status):
    answer = refused(echo, request_line + b"\r\nHost: a\r\n\r\n", status)
    if status == 400:  # what is wrong, and with what
        assert answer["field"] == "request line" and "HTTP/1" in answer["error"]


def test_a_raw_utf8_path_reaches_the_api_whole(echo):
    # "à" is C3 A0 in UTF-8; A0 is a space to str.split() on the Latin-1 text.
    gateway, handler = echo
    status, _, _ = raw(gateway, "GET /v2/voilà?x=1 HTTP/1.1\r\nHost: a\r\n\r\n".encode())
    assert status == 200
    assert handler.events[0]["rawPath"] == "/v2/voil\u00c3\u00a0"


def test_a_bare_cr_in_a_header_line_is_a_400_and_a_blank_continuation_adds_nothing(echo):
    gateway, handler = echo
    refused(echo, b"GET /v2/x HTTP/1.1\r\nHost: a\r\nX-A: a\rb\r\n\r\n", 400, "headers")
    status, _, _ = raw(gateway, b"GET /v2/x HTTP/1.1\r\nHost: a\r\nX-A: one\r\n   \r\n\r\n")
    assert status == 200
    assert handler.events[0]["headers"]["x-a"] == "one"


@pytest.mark.parametrize("size", [b"1_0", b"0x2", b"-1", b"+5", b"\xb2", b"1" * 9, b""])
def test_a_malformed_chunk_size_is_a_400_in_json_and_reaches_nothing(echo, size):
    request = (
        b"POST /v2/publish/x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
        + size
        + b"\r\nhello\r\n0\r\n\r\n"
    )
    refused(echo, request, 400, "Transfer-Encoding")


def test_a_malformed_request_line_is_a_400_in_json(echo):
    gateway, _ = echo
    status, headers, body = raw(gateway, b"GET /v2/x HTTP/1.1 extra words\r\n\r\n")
    assert status == 400
    assert_json_error(status, headers, body)
