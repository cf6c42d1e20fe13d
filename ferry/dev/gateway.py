"""A thin stand-in for API Gateway HTTP API: turns each HTTP request into a payload-2.0 event,
calls the real API handler, and writes its response back. No routing or logic of its own.

Concurrency is Lambda's: each request is served by an API instance no other request is using
(`ferry.api.app.ApiInstances`, the pool behind the API handler, which builds instances on
demand and reuses free ones), and at most `max_concurrency` requests are in the handler at
once (the function's concurrency limit), so the pool never grows past it. Requests over the
limit wait for a free instance, as API Gateway would see throttling retried; none are served
one after another for want of isolation.

Errors of the front end itself are JSON like the API's (`{"error": ..., "field": ...}`): 431
for oversized or too many headers, 501 for methods an API Gateway `ANY` route does not take
(TRACE, CONNECT, made-up ones), 400 for a malformed `Content-Length`, request line or header
line, 505 for HTTP/2 and later, 413 for a body over API Gateway's 10 MB; never a traceback,
never a dropped connection without an answer. The header section is read by
`ferry.dev.request_head`, not the standard library's email parser (half the front end's CPU).
"""

from __future__ import annotations

import base64
import json
import logging
import random
import re
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote_plus

from ferry.dev.lambda_context import DevLambdaContext
from ferry.dev.request_head import HeadRefused, read_headers

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]

log = logging.getLogger("ferry.dev")

# The API function's timeout in AWS (API Gateway gives up on its integration after 30 s).
WAIT_FOR_INSTANCE_SECONDS = 29
# API Gateway HTTP API: the methods an `ANY` route takes, and the largest request payload.
ROUTED_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
MAX_BODY_BYTES = 10 * 1024 * 1024
# ASCII digits only (str.isdigit takes "²", which int() then refuses) and no int() extras ("1_0",
# "0x2", "-1" as a chunk size). Eight hex digits: chunks under 4 GiB, far over MAX_BODY_BYTES.
_LENGTH = re.compile(r"[0-9]{1,18}").fullmatch
_VERSION_PART = re.compile(r"[0-9]{1,10}").fullmatch
_CHUNK_SIZE = re.compile(rb"[0-9A-Fa-f]{1,8}").fullmatch


def to_event(
    *, method: str, target: str, headers: list[tuple[str, str]], body: bytes, source_ip: str
) -> dict[str, Any]:
    raw_path, _, raw_query = target.partition("?")
    joined: dict[str, str] = {}
    for name, value in headers:
        key = name.lower()  # HTTP APIs lower-case header names and join repeats with commas
        joined[key] = f"{joined[key]},{value}" if key in joined else value
    query: dict[str, str] = {}
    for pair in filter(None, raw_query.split("&")):
        name, _, value = pair.partition("=")
        name, value = unquote_plus(name), unquote_plus(value)
        query[name] = f"{query[name]},{value}" if name in query else value
    now = time.time()
    return {
        "version": "2.0",
        "routeKey": "ANY /v2/{proxy+}",
        "rawPath": raw_path,
        "rawQueryString": raw_query,
        "headers": joined,
        "queryStringParameters": query or None,
        "pathParameters": {"proxy": raw_path.removeprefix("/v2/")},
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "ferry-dev",
            "domainName": joined.get("host", "127.0.0.1"),
            "http": {
                "method": method,
                "path": raw_path,
                "protocol": "HTTP/1.1",
                "sourceIp": source_ip,
                "userAgent": joined.get("user-agent", ""),
            },
            # Unique, not secret: no system call (os.urandom) for it on every request.
            "requestId": f"{random.getrandbits(64):016x}",
            "routeKey": "ANY /v2/{proxy+}",
            "stage": "$default",
            "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "timeEpoch": int(now * 1000),
        },
        "body": base64.b64encode(body).decode() if body else None,
        "isBase64Encoded": bool(body),
    }


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # socketserver's default backlog of 5 resets connections when many clients connect at once.
    request_queue_size = 1024

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that went away mid-request: nothing to answer, nothing to print.
        log.debug("gateway: connection from %s ended abruptly", client_address, exc_info=True)


class _RequestHandler(BaseHTTPRequestHandler):
    """One connection. Errors of the front end itself (malformed HTTP, oversized headers or
    bodies, methods API Gateway does not route) are JSON like the API's own."""

    protocol_version = "HTTP/1.1"
    # A client that stops sending mid-request frees its thread after this long.
    timeout = 60
    # Answers go out at once: with Nagle's algorithm a response written in two parts waits for
    # the client's delayed ACK (about 40 ms on Linux) before its second part leaves.
    disable_nagle_algorithm = True
    gateway: Gateway

    def parse_request(self) -> bool:
        """The request line (split on single spaces; 400 naming what is wrong, 505 for HTTP/2 and
        later), then the header section with `ferry.dev.request_head` (431 for a line over 64 KiB
        or more than 100 lines, 400 for a line that is no header field). Keep-alive and
        `Expect: 100-continue` as the standard library handles them."""
        self.command = None  # type: ignore[assignment]
        self.request_version = self.default_request_version
        self.close_connection = True
        self.requestline = str(self.raw_requestline, "iso-8859-1").rstrip("\r\n")
        if not self.requestline.strip():
            return False
        # Split on spaces only (RFC 9112 3): str.split() would also split the Latin-1 text of a
        # raw UTF-8 path at its 0xA0 or 0x85 bytes and hand on a cut path.
        words = self.requestline.split(" ")
        if len(words) != 3 or not all(words):
            # (Two words would be HTTP/0.9, which API Gateway does not speak either.)
            return self._refuse_head(
                f"malformed request line {self.requestline[:80]!r}: send `METHOD /path HTTP/1.1`, "
                "one space apart",
                "request line",
            )
        command, path, version = words
        number = version.removeprefix("HTTP/").split(".") if version.startswith("HTTP/") else []
        if len(number) != 2 or not all(_VERSION_PART(part) for part in number):
            return self._refuse_head(
                f"request line: {version[:20]!r} is not HTTP/1.0 or HTTP/1.1", "request line"
            )
        if int(number[0]) >= 2:
            self.send_error(505, f"Invalid HTTP version ({version})")
            return False
        self.request_version = version
        self.close_connection = (int(number[0]), int(number[1])) < (1, 1)
        if path.startswith("//"):
            path = "/" + path.lstrip("/")  # as the standard library reduces it
        self.command, self.path = command, path
        try:
            self.headers = read_headers(self.rfile)  # type: ignore[assignment]
        except HeadRefused as refused:
            if refused.status == 431:
                self.send_error(431)
                return False
            return self._refuse_head(
                f"malformed HTTP request: {refused}; a header line is `Name: value`", "headers"
            )
        connection = (self.headers.get("Connection") or "").lower()
        if connection == "close":
            self.close_connection = True
        elif connection == "keep-alive":
            self.close_connection = False
        expect = (self.headers.get("Expect") or "").lower()
        if expect == "100-continue" and self.request_version >= "HTTP/1.1":
            return self.handle_expect_100()
        return True

    def _refuse_head(self, error: str, field: str) -> bool:
        """A 400 for a request line or header section that cannot be read; the connection closes."""
        self.request_version = "HTTP/1.1"  # (not HTTP/0.9, which would answer without a status)
        self._send_json(400, {"error": error, "field": field}, close=True)
        return False

    def do_request(self) -> None:
        try:
            body = self._body()
        except _Refused as refused:
            self._send_json(refused.status, refused.body, close=True)
            return
        event = to_event(
            method=self.command,
            target=self.path,
            headers=list(self.headers.items()),
            body=body,
            source_ip=self.client_address[0],
        )
        try:
            response = self.gateway.invoke(event)
            self._send_response(response)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        except Exception:
            # What API Gateway answers when the integration fails: a 500 with a JSON message.
            log.exception("gateway: the API handler's response could not be sent")
            self._send_json(
                500, {"error": "internal error in the dev gateway; see ferry dev's log"}, close=True
            )

    # ROUTED_METHODS; any other method gets the 501 of `send_error`.
    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = do_request

    def _body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            return self._chunked_body()
        lengths = {value.strip() for value in self.headers.get_all("Content-Length") or []}
        if not lengths:
            return b""
        if len(lengths) > 1 or not all(_LENGTH(value) for value in lengths):
            raise _Refused(
                400,
                {
                    "error": "Content-Length must be one non-negative integer (the body's size in bytes)",
                    "field": "Content-Length",
                },
            )
        length = int(lengths.pop())
        if length > MAX_BODY_BYTES:
            raise _too_large()
        return self.rfile.read(length) if length else b""

    def _chunked_body(self) -> bytes:
        body = bytearray()
        while True:
            # (Leading zeros are allowed: RFC 9112 7.1 puts no bound on the digits, only the size.)
            line = self.rfile.readline(1024).split(b";", 1)[0].strip()
            line = line.lstrip(b"0") or line[:1]  # "000" is 0; an empty line stays empty (refused)
            if not _CHUNK_SIZE(line):
                raise _Refused(
                    400, {"error": "malformed chunked body: bad chunk size", "field": "Transfer-Encoding"}
                )
            size = int(line, 16)
            if size == 0:
                while self.rfile.readline(1024).strip():  # trailer fields, ignored
                    pass
                return bytes(body)
            if len(body) + size > MAX_BODY_BYTES:
                raise _too_large()
            body += self.rfile.read(size)
            self.rfile.readline(1024)  # the CRLF after the chunk

    def _send_response(self, response: dict[str, Any]) -> None:
        payload = response.get("body") or ""
        data = base64.b64decode(payload) if response.get("isBase64Encoded") else payload.encode()
        self.send_response(int(response.get("statusCode", 200)))
        for name, value in (response.get("headers") or {}).items():
            self.send_header(name, value)
        for name, values in (response.get("multiValueHeaders") or {}).items():
            for value in values:
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self._end_headers_with(data)

    def _end_headers_with(self, data: bytes) -> None:
        """The status line, headers and body in one write (one segment for small answers)."""
        self._headers_buffer.append(b"\r\n")
        if self.command != "HEAD":
            self._headers_buffer.append(data)
        self.wfile.write(b"".join(self._headers_buffer))
        self._headers_buffer = []

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """The standard library's error page, as JSON (malformed request lines and headers)."""
        # An unparsable request line leaves HTTP/0.9, which would send the body without a status.
        self.request_version = "HTTP/1.1"
        error, field = _FRONT_END_ERRORS.get(code, (message or "bad request", None))
        if code == 501:
            error = f"method {self.command!r} is not supported; use one of {', '.join(ROUTED_METHODS)}"
            field = "method"
        body: dict[str, Any] = {"error": error}
        if field:
            body["field"] = field
        self._send_json(code, body, close=True)

    def _send_json(self, status: int, body: dict[str, Any], *, close: bool = False) -> None:
        data = json.dumps(body).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            if close:
                self.send_header("Connection", "close")
                self.close_connection = True
            self._end_headers_with(data)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _Refused(Exception):
    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__(body["error"])
        self.status = status
        self.body = body


def _too_large() -> _Refused:
    return _Refused(413, {"error": "request body over 10 MB, API Gateway's payload limit", "field": "body"})


# Errors the standard library's HTTP parser reports before a request reaches the API.
_FRONT_END_ERRORS: dict[int, tuple[str, str | None]] = {
    400: ("malformed HTTP request", None),
    414: ("request line over 64 KiB", "path"),
    431: ("request headers too large: a header line over 64 KiB or more than 100 header fields", "headers"),
    505: ("HTTP version not supported; use HTTP/1.1", None),
}


class Gateway:
    def __init__(
        self, handler: Handler, *, host: str = "127.0.0.1", port: int = 0, max_concurrency: int = 64
    ) -> None:
        self._handler = handler
        self._slots = threading.BoundedSemaphore(max_concurrency)
        request_handler = type("GatewayRequestHandler", (_RequestHandler,), {"gateway": self})
        self._server = _Server((host, port), request_handler)
        # serve_forever checks for shutdown between polls: 0.05 s instead of its 0.5 s default, so
        # stop() (ferry dev's SIGINT, every test's teardown) never waits half a second for it.
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="ferry-gateway",
            daemon=True,
        )

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def invoke(self, event: dict[str, Any]) -> dict[str, Any]:
        """One invocation of the API function, within its concurrency limit."""
        if not self._slots.acquire(timeout=WAIT_FOR_INSTANCE_SECONDS):
            return {
                "statusCode": 503,
                "headers": {"Content-Type": "application/json", "Retry-After": "1"},
                "body": '{"error": "ferry dev: every API instance stayed busy for 29 s; retry"}',
            }
        try:
            return self._handler(event, DevLambdaContext("ferry-api"))
        finally:
            self._slots.release()

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
