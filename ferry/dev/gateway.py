"""A thin stand-in for API Gateway HTTP API: turns each HTTP request into a payload-2.0 event,
calls the real API handler, and writes its response back. No routing or logic of its own.

Concurrency is Lambda's: each request is served by an API instance no other request is using
(`ferry.api.app.ApiInstances`, the pool behind the API handler, which builds instances on
demand and reuses free ones), and at most `max_concurrency` requests are in the handler at
once (the function's concurrency limit), so the pool never grows past it. Requests over the
limit wait for a free instance, as API Gateway would see throttling retried; none are served
one after another for want of isolation.
"""

from __future__ import annotations

import base64
import secrets
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote_plus

from ferry.dev.lambda_context import DevLambdaContext

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]

# The API function's timeout in AWS (API Gateway gives up on its integration after 30 s).
WAIT_FOR_INSTANCE_SECONDS = 29


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
            "requestId": secrets.token_hex(8),
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


class Gateway:
    def __init__(
        self, handler: Handler, *, host: str = "127.0.0.1", port: int = 0, max_concurrency: int = 64
    ) -> None:
        self._handler = handler
        self._slots = threading.BoundedSemaphore(max_concurrency)
        gateway = self

        class _RequestHandler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                event = to_event(
                    method=self.command,
                    target=self.path,
                    headers=list(self.headers.items()),
                    body=body,
                    source_ip=self.client_address[0],
                )
                response = gateway.invoke(event)
                payload = response.get("body") or ""
                data = base64.b64decode(payload) if response.get("isBase64Encoded") else payload.encode()
                self.send_response(int(response.get("statusCode", 200)))
                for name, value in (response.get("headers") or {}).items():
                    self.send_header(name, value)
                for name, values in (response.get("multiValueHeaders") or {}).items():
                    for value in values:
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _serve

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = _Server((host, port), _RequestHandler)
        self._thread = threading.Thread(target=self._server.serve_forever, name="ferry-gateway", daemon=True)

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
