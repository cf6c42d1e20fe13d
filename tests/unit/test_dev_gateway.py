"""`ferry dev`'s API Gateway stand-in: concurrency as Lambda's, and errors of its own as JSON."""

from __future__ import annotations

import json
import threading
import urllib.request
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
