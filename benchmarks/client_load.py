"""The load of benchmarks/dev_throughput.py: client threads publishing to `ferry dev`, and the
HTTP destination its messages are delivered to.

A user's app and its endpoint are processes of their own beside `ferry dev`, so by default the
load runs in a child process (`ChildLoad`): its HTTP clients and its server then share neither
`ferry dev`'s CPU time nor its GIL, and what is measured is `ferry dev`. `InProcessLoad` runs the
same load in the measuring process (the benchmark's `--same-process`, as it was measured before).
"""

from __future__ import annotations

import http.client
import multiprocessing
import os
import threading
import time
from typing import Any

CLIENT_THREADS = 16
DESTINATION_PATH = "/bench"


class Publisher:
    """One client thread's keep-alive connection to ferry dev."""

    def __init__(self, url: str, token: str, destination: str) -> None:
        host, port = url.removeprefix("http://").split(":")
        self._connection = http.client.HTTPConnection(host, int(port), timeout=30)
        self._route = f"/v2/publish/{destination}"
        self._headers = {"Authorization": f"Bearer {token}", "Content-Type": "text/plain"}

    def publish(self, body: bytes) -> None:
        self._connection.request("POST", self._route, body=body, headers=self._headers)
        response = self._connection.getresponse()
        answer = response.read()
        if response.status != 200:
            raise RuntimeError(f"publish answered {response.status}: {answer[:200]!r}")


CLIENT_THREAD_PREFIX = "client-"


def in_threads(seconds: float, work: Any, prepare: Any) -> tuple[int, list[float]]:
    """Run `work(state)` in CLIENT_THREADS loops for `seconds`; the count and each call's latency."""
    latencies: list[list[float]] = [[] for _ in range(CLIENT_THREADS)]
    start = threading.Barrier(CLIENT_THREADS + 1)
    deadline: list[float] = []
    failures: list[BaseException] = []

    def loop(index: int) -> None:
        state = prepare(index)
        start.wait()
        try:
            while time.perf_counter() < deadline[0]:
                began = time.perf_counter()
                work(state)
                latencies[index].append(time.perf_counter() - began)
        except BaseException as failure:  # a thread that stops early would skew the rate
            failures.append(failure)

    # Named, so that their AWS calls (the raw replay's) are told from ferry dev's.
    threads = [
        threading.Thread(target=loop, args=(i,), name=f"{CLIENT_THREAD_PREFIX}{i}", daemon=True)
        for i in range(CLIENT_THREADS)
    ]
    for thread in threads:
        thread.start()
    deadline.append(time.perf_counter() + seconds)
    start.wait()
    for thread in threads:
        thread.join()
    if failures:
        raise RuntimeError(f"{len(failures)} of {CLIENT_THREADS} client threads failed") from failures[0]
    flat = [latency for per_thread in latencies for latency in per_thread]
    return len(flat), flat


class InProcessLoad:
    def __init__(self, url: str, token: str) -> None:
        from tests.support.target import Target

        self._url, self._token = url, token
        self._target = Target()
        self.destination = self._target.url(DESTINATION_PATH)
        self._one = Publisher(url, token, self.destination)

    def publish(self, count: int, body: bytes) -> None:
        """`count` publishes one after another on one connection."""
        for _ in range(count):
            self._one.publish(body)

    def delivered(self, count: int, timeout: float) -> list[float]:
        """Arrival times (epoch seconds) of the first `count` deliveries since the last clear."""
        return [r.at for r in self._target.wait_for(DESTINATION_PATH, count=count, timeout=timeout)]

    def clear(self) -> None:
        self._target.received.clear()

    def run(self, seconds: float, body: bytes) -> tuple[int, list[float]]:
        """CLIENT_THREADS publishing for `seconds`: how many were published, and each latency."""
        return in_threads(
            seconds, lambda p: p.publish(body), lambda _: Publisher(self._url, self._token, self.destination)
        )

    def close(self) -> None:
        self._target.stop()


def _serve(connection: Any, url: str, token: str) -> None:
    if hasattr(os, "sched_setaffinity"):
        # A user's app may run on any CPU: not on the one ferry dev's threads are pinned to,
        # which this process would otherwise inherit from the thread that started it (the
        # kernel keeps, of these, the CPUs this process may use).
        os.sched_setaffinity(0, range(os.cpu_count() or 1))
    load = InProcessLoad(url, token)
    connection.send(load.destination)
    try:
        while True:
            operation, args = connection.recv()
            if operation == "close":
                return
            try:
                connection.send(("ok", getattr(load, operation)(*args)))
            except Exception as error:  # handed to the measuring process, which raises it
                connection.send(("error", f"{type(error).__name__}: {error}"))
    finally:
        load.close()


class ChildLoad:
    """InProcessLoad in a process of its own, driven over a pipe (same methods)."""

    def __init__(self, url: str, token: str) -> None:
        context = multiprocessing.get_context("spawn")
        self._connection, child = context.Pipe()
        self._process = context.Process(target=_serve, args=(child, url, token), daemon=True)
        self._process.start()
        self.destination: str = self._connection.recv()

    def _call(self, operation: str, *args: Any) -> Any:
        self._connection.send((operation, args))
        status, value = self._connection.recv()
        if status == "error":
            raise RuntimeError(f"load process: {value}")
        return value

    def publish(self, count: int, body: bytes) -> None:
        self._call("publish", count, body)

    def delivered(self, count: int, timeout: float) -> list[float]:
        return self._call("delivered", count, timeout)

    def clear(self) -> None:
        self._call("clear")

    def run(self, seconds: float, body: bytes) -> tuple[int, list[float]]:
        return self._call("run", seconds, body)

    def close(self) -> None:
        self._connection.send(("close", ()))
        self._process.join(10)
