"""Benchmark: `ferry dev` throughput beside the raw rate of its emulator, in one run.

1. Starts `ferry dev` in this process and a real HTTP destination on 127.0.0.1 that answers 200.
2. Records the AWS calls one publish makes (operation and parameters, from the API handler's
   threads only) over a few sequential publishes.
3. For `seconds`, 16 client threads publish with plain HTTP (keep-alive, as the SDKs do):
   publishes/s, p50 and p99 latency; then waits until every message is delivered: deliveries/s
   from the first publish to the last delivery.
4. Stops the pollers and, for `seconds` again, 16 threads replay the recorded calls of one
   publish straight on boto3 clients against the same emulator (the queue emptied every 100
   sends, as the pollers keep it short): publish-equivalents/s, the most `ferry dev` could reach
   (the ratio to it is the cost of the gateway, the API handler, and deliveries running beside).

Run: `.venv/bin/python -m benchmarks.dev_throughput [--short] [--publish-only]` (short: 10 s phases, < 60 s in
all). From other benchmarks: `benchmarks.dev_throughput.measure(short=True)` returns the figures.
Results go to stdout; docs/benchmarks.md records them with the machine they ran on.
"""

from __future__ import annotations

import argparse
import copy
import http.client
import statistics
import threading
import time
from dataclasses import asdict, dataclass
from typing import Any

from ferry.dev.stack import DevStack
from tests.support.target import Target

CLIENT_THREADS = 16
# Threads of ferry dev that are not the API: their AWS calls are not part of a publish.
_NOT_API_THREADS = ("poller-", "dispatcher-", "deliver", "scheduler-ticker")


@dataclass(frozen=True)
class Figures:
    client_threads: int
    seconds: float
    publishes: int
    publishes_per_second: float
    p50_ms: float
    p99_ms: float
    deliveries_per_second: float
    aws_calls_per_publish: int
    raw_publish_equivalents_per_second: float

    @property
    def ratio_to_raw(self) -> float:
        return self.publishes_per_second / self.raw_publish_equivalents_per_second

    def table(self) -> str:
        return "\n".join(
            [
                f"ferry dev, {self.client_threads} client threads, {self.seconds:.0f} s:",
                f"  publishes/s            {self.publishes_per_second:8.1f}  ({self.publishes} published)",
                f"  publish p50 / p99      {self.p50_ms:8.1f} / {self.p99_ms:.1f} ms",
                f"  deliveries/s           {self.deliveries_per_second:8.1f}  (end to end)",
                f"  raw emulator           {self.raw_publish_equivalents_per_second:8.1f}  "
                f"publish-equivalents/s "
                f"({self.aws_calls_per_publish} AWS calls each)",
                f"  ratio to raw           {self.ratio_to_raw:8.2f}",
            ]
        )


class CallRecorder:
    """Records (service, operation, parameters) of the AWS calls the API handler's threads make."""

    def __init__(self, clients: list[Any]) -> None:
        self.calls: list[tuple[str, str, dict[str, Any]]] = []
        self.recording = False
        for client in clients:
            client.meta.events.register("provide-client-params.*.*", self._record)

    def _record(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        if self.recording and not threading.current_thread().name.startswith(_NOT_API_THREADS):
            self.calls.append((model.service_model.service_name, model.name, copy.deepcopy(params)))


class Publisher:
    """One client thread's keep-alive connection to ferry dev."""

    def __init__(self, stack: DevStack, destination: str) -> None:
        host, port = stack.url.removeprefix("http://").split(":")
        self._connection = http.client.HTTPConnection(host, int(port), timeout=30)
        self._route = f"/v2/publish/{destination}"
        self._headers = {"Authorization": f"Bearer {stack.secrets.api_token}", "Content-Type": "text/plain"}

    def publish(self, body: bytes) -> None:
        self._connection.request("POST", self._route, body=body, headers=self._headers)
        response = self._connection.getresponse()
        answer = response.read()
        if response.status != 200:
            raise RuntimeError(f"publish answered {response.status}: {answer[:200]!r}")


def _in_threads(seconds: float, work: Any, prepare: Any) -> tuple[int, list[float]]:
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

    threads = [threading.Thread(target=loop, args=(i,), daemon=True) for i in range(CLIENT_THREADS)]
    for thread in threads:
        thread.start()
    deadline.append(time.perf_counter() + seconds + 0.0)
    start.wait()
    for thread in threads:
        thread.join()
    if failures:
        raise RuntimeError(f"{len(failures)} of {CLIENT_THREADS} client threads failed") from failures[0]
    flat = [latency for per_thread in latencies for latency in per_thread]
    return len(flat), flat


def _percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def measure(short: bool = False, publish_only: bool = False) -> Figures:
    """The figures; `publish_only` runs without pollers (the gateway and API handler alone)."""
    from ferry.wiring import services

    seconds = 10.0 if short else 30.0
    target = Target()
    try:
        with DevStack(port=0, poller_concurrency=0 if publish_only else None) as stack:
            svc = services()
            clients = [svc.sqs, svc.dynamodb, svc.secretsmanager]
            recorder = CallRecorder(clients)
            destination = target.url("/bench")
            warm = Publisher(stack, destination)
            for _ in range(20):
                warm.publish(b"warm-up")
            recorder.recording = True
            samples = 10
            for _ in range(samples):
                warm.publish(b"recorded")
            recorder.recording = False
            calls = recorder.calls
            per_publish = round(len(calls) / samples)
            one_publish = calls[-per_publish:]

            target.received.clear()
            first_publish = time.time()
            published, latencies = _in_threads(
                seconds,
                lambda publisher: publisher.publish(b"x" * 100),
                lambda _: Publisher(stack, destination),
            )
            delivered = [] if publish_only else target.wait_for("/bench", count=published, timeout=300)
            last_delivery = max((r.at for r in delivered), default=first_publish + 1)

            for poller in stack.pollers:
                poller.stop()
            by_service = {client.meta.service_model.service_name: client for client in clients}

            def replay(_: None) -> None:
                for service, operation, params in one_publish:
                    getattr(by_service[service], _snake(operation))(**params)

            raw, _ = _in_threads(seconds, replay, lambda _: None)
    finally:
        target.stop()
    return Figures(
        client_threads=CLIENT_THREADS,
        seconds=seconds,
        publishes=published,
        publishes_per_second=published / seconds,
        p50_ms=statistics.median(latencies) * 1000,
        p99_ms=_percentile(latencies, 0.99) * 1000,
        deliveries_per_second=len(delivered) / (last_delivery - first_publish),
        aws_calls_per_publish=per_publish,
        raw_publish_equivalents_per_second=raw / seconds,
    )


def _snake(operation: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in operation).lstrip("_")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--short", action="store_true", help="10 s phases (under 60 s in all)")
    parser.add_argument("--publish-only", action="store_true", help="pollers off: no deliveries beside")
    args = parser.parse_args()
    figures = measure(short=args.short, publish_only=args.publish_only)
    print(figures.table())
    print({**asdict(figures), "ratio_to_raw": round(figures.ratio_to_raw, 3)})


if __name__ == "__main__":
    main()
