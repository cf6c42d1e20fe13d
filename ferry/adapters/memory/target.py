"""InMemoryTarget: destinations as Python functions, one per URL, each answering a request with
an AttemptResult; every request is kept for the test to inspect."""

from __future__ import annotations

import threading
from collections.abc import Callable

from ferry.domain.delivery import AttemptResult, DeliveryRequest, unsendable_reason

Responder = Callable[[DeliveryRequest], AttemptResult]


def answers(*results: AttemptResult) -> Responder:
    """A destination answering with `results` in turn (the last one repeats)."""
    queue = list(results)

    def respond(request: DeliveryRequest) -> AttemptResult:
        return queue.pop(0) if len(queue) > 1 else queue[0]

    return respond


class InMemoryTarget:
    def __init__(self) -> None:
        self._routes: dict[str, Responder] = {}
        self.requests: list[DeliveryRequest] = []
        self._lock = threading.Lock()

    def route(self, url: str, responder: Responder) -> None:
        self._routes[url] = responder

    def send(self, request: DeliveryRequest) -> AttemptResult:
        if problem := unsendable_reason(request):
            # As an HTTP client does: refused before anything is sent.
            return AttemptResult(
                status=None, error=f"the HTTP client refused the request: {problem}", unsendable=True
            )
        with self._lock:
            self.requests.append(request)
        responder = self._routes.get(request.url)
        if responder is None:
            return AttemptResult(status=None, error=f"connection failed: nothing listens at {request.url}")
        return responder(request)

    def requests_to(self, url: str) -> list[DeliveryRequest]:
        with self._lock:
            return [r for r in self.requests if r.url == url]
