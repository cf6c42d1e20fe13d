"""A real HTTP server on 127.0.0.1 serving workflows with the unchanged `upstash-workflow` Python
SDK (its framework-free `serve`), verifying every request with the SDK's Receiver."""

from __future__ import annotations

import collections
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from qstash import QStash, Receiver
from upstash_workflow import serve
from upstash_workflow.workflow_types import _SyncRequest

# The SDK answers a failed step with 500 and no Retry-After; this app adds one, as any endpoint
# may, so a test of "a step failing twice" waits seconds instead of QStash's 12 s + 148 s backoff.
RETRY_AFTER_SECONDS = "1"


class WorkflowApp:
    @classmethod
    def for_stack(cls, stack: Any) -> WorkflowApp:
        """An app whose SDK talks to `stack` and verifies its signing keys."""
        env = stack.client_env()
        return cls(
            qstash_url=env["QSTASH_URL"],
            token=env["QSTASH_TOKEN"],
            current_key=env["QSTASH_CURRENT_SIGNING_KEY"],
            next_key=env["QSTASH_NEXT_SIGNING_KEY"],
        )

    def __init__(self, *, qstash_url: str, token: str, current_key: str, next_key: str) -> None:
        self._routes: dict[str, Callable[[_SyncRequest], Any]] = {}
        self._client = QStash(token, base_url=qstash_url)
        self._receiver = Receiver(current_signing_key=current_key, next_signing_key=next_key)
        self.requests: list[tuple[str, dict[str, str]]] = []
        # Every request as it came off the wire: path, header fields in order (repeats kept), body.
        self.raw: list[tuple[str, list[tuple[str, str]], str]] = []
        # Paths that are "down": the connection is closed without an answer.
        self.down: set[str] = set()
        # Paths whose next answer is lost: the SDK handles the request, the connection then drops.
        self.lose_next_answer: set[str] = set()
        self.rejected = 0
        app = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode()
                path = self.path.split("?")[0]
                app.requests.append((path, dict(self.headers.items())))
                app.raw.append((path, list(self.headers.items()), body))
                if path in app.down:
                    self.close_connection = True
                    return
                handler = app._routes.get(path)
                if handler is None:
                    self.send_response(404)
                    self.end_headers()
                    return
                response = handler(
                    _SyncRequest(
                        body=body,
                        headers=self.headers,  # case-insensitive, as frameworks give the SDK
                        method="POST",
                        url=f"{app.url}{self.path}",
                    )
                )
                if path in app.lose_next_answer:
                    app.lose_next_answer.discard(path)
                    self.close_connection = True
                    return
                if response.status == 500 and "verify" in response.body:
                    app.rejected += 1
                self.send_response(response.status)
                for name, value in (response.headers or {}).items():
                    self.send_header(name, value)
                if response.status >= 500:
                    self.send_header("Retry-After", RETRY_AFTER_SECONDS)
                encoded = response.body.encode()
                self.send_header("Content-Length", str(len(encoded)))
                self.end_headers()
                self.wfile.write(encoded)

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def route(self, path: str, workflow: Callable[..., None], **options: Any) -> str:
        self._routes[path] = serve(
            workflow, qstash_client=self._client, receiver=self._receiver, env={}, **options
        )["handler"]
        return self.url + path

    def run_ids(self, url: str) -> set[str]:
        """The runs delivered to `url` so far (every delivery after the first names its run)."""
        path = url.removeprefix(self.url)
        return {
            value
            for request_path, headers in list(self.requests)
            if request_path == path
            for name, value in headers.items()
            if name.lower() == "upstash-workflow-runid"
        }

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


class Calls:
    """How often each step body ran (the point of durable steps: exactly once unless it failed),
    and the runs they ran in when given the step's context."""

    def __init__(self) -> None:
        self.counts: collections.Counter[str] = collections.Counter()
        self.run_ids: list[str] = []
        self._lock = threading.Lock()

    def __call__(self, name: str, context: Any = None) -> int:
        with self._lock:
            self.counts[name] += 1
            if context is not None and context.workflow_run_id not in self.run_ids:
                self.run_ids.append(context.workflow_run_id)
            return self.counts[name]
