"""The least the parts of ferry dev's own work cost in Python on this machine, each alone: the
floors benchmarks/dev_handler_overhead.py reports beside what ferry dev spends on the same work.
"""

from __future__ import annotations

import http.client
import socket
from typing import Any
from urllib.parse import urlsplit

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response

from ferry.domain.delivery import DeliveryRequest

FIXED_ANSWER = '{"messageId": "msg_floor"}'


def fixed_answer(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """A handler for the gateway that does nothing: the front end's own cost, behind it nothing."""
    return {"statusCode": 200, "headers": {"Content-Type": "application/json"}, "body": FIXED_ANSWER}


def constant_resolver() -> APIGatewayHttpResolver:
    """powertools' resolver as the API builds it (validation on), one route answering a constant:
    the framework's cost per request, none of ferry's middlewares or work."""
    app = APIGatewayHttpResolver(enable_validation=True)

    @app.post("/v2/publish/.+")
    def publish() -> Response[Any]:  # as ferry's routes declare it: a body it does not validate
        return Response(200, "application/json", FIXED_ANSWER)

    return app


class Exchanges:
    """One delivery request sent again and again on a keep-alive connection, with http.client and
    on a plain socket (request written whole, response read to its Content-Length)."""

    def __init__(self, request: DeliveryRequest) -> None:
        url = urlsplit(request.url)
        host, port = url.hostname or "127.0.0.1", url.port or 80
        self._path, self._headers, self._body = url.path or "/", dict(request.headers), request.body
        self._client = http.client.HTTPConnection(host, port, timeout=30)
        self._socket = socket.create_connection((host, port), timeout=30)
        self._socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        head = "".join(f"{name}: {value}\r\n" for name, value in self._headers.items())
        self._raw = (
            f"POST {self._path} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Length: {len(self._body)}\r\n"
            f"{head}\r\n"
        ).encode() + self._body

    def exchange_with_http_client(self) -> None:
        self._client.request("POST", self._path, body=self._body, headers=self._headers)
        response = self._client.getresponse()
        response.read()
        if response.status != 200:
            raise RuntimeError(f"the destination answered {response.status}")

    def exchange_on_socket(self) -> None:
        self._socket.sendall(self._raw)
        data = b""
        while b"\r\n\r\n" not in data:
            data += self._received()
        head, _, body = data.partition(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1.1 200 "):
            raise RuntimeError(f"the destination answered {head[:40]!r}")
        lengths = [line for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:")]
        if not lengths:
            raise RuntimeError("the destination answered without a Content-Length")
        length = int(lengths[0].split(b":", 1)[1])
        while len(body) < length:
            body += self._received()

    def _received(self) -> bytes:
        data = self._socket.recv(65_536)
        if not data:
            raise RuntimeError("the destination closed the connection mid-answer")
        return data

    def close(self) -> None:
        self._client.close()
        self._socket.close()
