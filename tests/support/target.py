"""A real HTTP destination on 127.0.0.1 for integration tests: records every request it gets and
answers from a per-path script (status, delay, headers), 200 once the script runs out."""

from __future__ import annotations

import ssl
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass(frozen=True)
class Reply:
    status: int = 200
    delay: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b"ok"


@dataclass(frozen=True)
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    at: float  # when the answer had been sent
    started: float = 0.0  # when the request had been read and its handling began
    answered: int = 0  # the status the target answered with
    client_port: int = 0  # the connection it came on (keep-alive reuse shows as one port)

    def header(self, name: str) -> str | None:
        lowered = {k.lower(): v for k, v in self.headers.items()}
        return lowered.get(name.lower())


class _BackloggedServer(ThreadingHTTPServer):
    # A dispatcher batch opens dozens of connections at once; the default listen backlog (5)
    # would drop SYNs and stall some of them by a second (the kernel's SYN retry).
    request_queue_size = 128


class Target:
    """`tls`: serve HTTPS with this server-side context instead of HTTP."""

    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        self._lock = threading.Condition()
        self._scripts: dict[str, list[Reply]] = defaultdict(list)
        self._always: dict[str, Reply] = {}
        self.received: list[Received] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self._in_flight_by_path: dict[str, int] = defaultdict(int)
        target = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body leave at once, as from a typical web server (with Nagle's
            # algorithm the body would wait ~40 ms for the client's delayed ACK).
            disable_nagle_algorithm = True

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                path = self.path.split("?", 1)[0]
                started = time.time()
                with target._lock:
                    target.in_flight += 1
                    target._in_flight_by_path[path] += 1
                    target.max_in_flight = max(target.max_in_flight, target.in_flight)
                    script = target._scripts.get(path)
                    reply = script.pop(0) if script else target._always.get(path, Reply())
                try:
                    if reply.delay:
                        time.sleep(reply.delay)
                    # Recorded before the answer leaves: a client that has its answer (a
                    # dispatcher invocation that returned) finds its request recorded.
                    with target._lock:
                        target.received.append(
                            Received(
                                self.command,
                                self.path,
                                dict(self.headers.items()),
                                body,
                                time.time(),
                                started,
                                reply.status,
                                self.client_address[1],
                            )
                        )
                        target._lock.notify_all()
                    self.send_response(reply.status)
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(reply.body)))
                    self.end_headers()
                    self.wfile.write(reply.body)
                except (BrokenPipeError, ConnectionResetError):
                    pass
                finally:
                    with target._lock:
                        target.in_flight -= 1
                        target._in_flight_by_path[path] -= 1
                        target._lock.notify_all()

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

            def log_message(self, format: str, *args: object) -> None:
                pass

        self._server = _BackloggedServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        self._scheme = "http"
        if tls is not None:
            # The handshake happens on the connection's first read, in its own thread.
            self._server.socket = tls.wrap_socket(
                self._server.socket, server_side=True, do_handshake_on_connect=False
            )
            self._scheme = "https"
        threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"{self._scheme}://{host}:{port}"

    def url(self, path: str) -> str:
        return self.base_url + path

    def script(self, path: str, *replies: Reply) -> None:
        with self._lock:
            self._scripts[path].extend(replies)

    def always(self, path: str, reply: Reply) -> None:
        with self._lock:
            self._always[path] = reply

    def in_flight_to(self, path: str) -> int:
        """Requests to `path` being answered now (the target is shared by the session's tests)."""
        with self._lock:
            return self._in_flight_by_path[path]

    def requests_to(self, path: str) -> list[Received]:
        with self._lock:
            return [r for r in self.received if r.path.split("?", 1)[0] == path]

    def wait_for(self, path: str, count: int = 1, timeout: float = 20.0) -> list[Received]:
        deadline = time.time() + timeout
        with self._lock:
            while True:
                got = [r for r in self.received if r.path.split("?", 1)[0] == path]
                if len(got) >= count:
                    return got
                remaining = deadline - time.time()
                if remaining <= 0:
                    raise AssertionError(
                        f"{path}: expected {count} requests, got {len(got)} within {timeout}s"
                    )
                self._lock.wait(remaining)

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
