"""Benchmark: `ferry dev` throughput beside the raw rate of its emulator for the same calls, in one run.

1. Starts `ferry dev` in this process and, in a child process (benchmarks.client_load.py; as a
   user's app and endpoint are processes of their own), the client threads and a real HTTP
   destination on 127.0.0.1 that answers 200 (`--same-process`: both in this process, as before).
2. Records the AWS calls (operation and parameters) that a few messages make, published one by
   one and delivered: the API handler's (a publish) and the dispatcher's and pollers'.
3. For `seconds`, 16 client threads publish with plain HTTP (keep-alive, as the SDKs do):
   publishes/s, p50 and p99 latency; then waits until every message is delivered: deliveries/s
   from the first publish to the last delivery (end to end). Every AWS call of ferry dev in this
   phase is counted by operation (the dev ticker's Scheduler polling aside).
4. Stops the pollers and, for `seconds` each, 16 threads replay straight on boto3 clients
   against the same emulator:
   - the calls of one publish: raw publish-equivalents/s (beside publishes/s: the cost of the
     gateway and the API handler, and of the deliveries sharing the process);
   - the calls of one message end to end, each operation as often per message as step 3 counted
     it (receives and batch deletes about one per 10 messages, as the pollers batch them; a
     replayed receive takes real messages and its delete removes them): raw
     message-equivalents/s, beside deliveries/s: the goal's "emulator's raw rate for the same
     calls" (what `ferry dev` adds is the gateway, the API handler, the dispatcher, the HTTP
     deliveries).
5. Before each phase, a fixed pure-Python loop is timed: the machine's speed then (it changes by
   up to 2x within minutes here), shown beside the figures.

Run: `.venv/bin/python -m benchmarks.dev_throughput [--short] [--publish-only]` (short: 10 s
phases, about 60 s in all). `make bench` calls `bench_rows(quick=True)`; `measure(short=True)`
returns the figures. Results go to stdout; docs/benchmarks.md records them with the machine.
"""

from __future__ import annotations

import argparse
import copy
import statistics
import threading
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

from benchmarks.client_load import CLIENT_THREADS, ChildLoad, InProcessLoad
from benchmarks.client_load import in_threads as _in_threads
from ferry.dev.stack import DevStack

# Threads of ferry dev that are not the API: their AWS calls are not part of a publish.
_NOT_API_THREADS = ("poller-", "dispatcher-", "deliver", "scheduler-ticker")
# Not a message's work: the dev ticker's polling of Scheduler (in AWS: the Scheduler service).
_NOT_MESSAGE_THREADS = ("scheduler-ticker",)


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
    aws_calls_per_message: float = 0.0
    raw_message_equivalents_per_second: float = 0.0
    calls_by_operation: dict[str, float] = field(default_factory=dict)
    # The machine's speed just before each phase (ms of a fixed pure-Python loop): this shared
    # machine's speed changes by up to 2x within minutes, which moves the ratios more than
    # anything measured; a run whose phases differ by much is shown as such.
    loop_ms_before_ferry_dev: float = 0.0
    loop_ms_before_raw: float = 0.0

    @property
    def ratio_to_raw(self) -> float:
        """Publishes/s beside the raw rate of a publish's calls."""
        return self.publishes_per_second / self.raw_publish_equivalents_per_second

    @property
    def end_to_end_ratio_to_raw(self) -> float:
        """Deliveries/s (end to end) beside the raw rate of a message's calls, publish and delivery."""
        if not self.raw_message_equivalents_per_second:
            return 0.0
        return self.deliveries_per_second / self.raw_message_equivalents_per_second

    def table(self) -> str:
        lines = [
            f"ferry dev, {self.client_threads} client threads, {self.seconds:.0f} s:",
            f"  publishes/s            {self.publishes_per_second:8.1f}  ({self.publishes} published)",
            f"  publish p50 / p99      {self.p50_ms:8.1f} / {self.p99_ms:.1f} ms",
            f"  deliveries/s           {self.deliveries_per_second:8.1f}  (end to end)",
            f"  raw emulator           {self.raw_publish_equivalents_per_second:8.1f}  publish-equivalents/s "
            f"({self.aws_calls_per_publish} AWS calls each)",
            f"  publishes / raw        {self.ratio_to_raw:8.2f}",
        ]
        if self.loop_ms_before_raw:
            lines.append(
                f"  machine speed          {self.loop_ms_before_ferry_dev:.0f} ms / "
                f"{self.loop_ms_before_raw:.0f} ms per calibration loop before the ferry dev / raw phase"
            )
        if self.raw_message_equivalents_per_second:
            lines += [
                f"  raw emulator           {self.raw_message_equivalents_per_second:8.1f}  "
                f"message-equivalents/s ({self.aws_calls_per_message:.2f} AWS calls each: "
                f"{', '.join(f'{op} {rate:.2f}' for op, rate in self.calls_by_operation.items())})",
                f"  deliveries / raw       {self.end_to_end_ratio_to_raw:8.2f}  (same calls)",
            ]
        return "\n".join(lines)


class CallRecorder:
    """Records (thread, service, operation, parameters) of ferry dev's AWS calls while
    `recording`, and counts operations (not the ticker's) while `counting`."""

    def __init__(self, clients: list[Any]) -> None:
        self.calls: list[tuple[str, str, str, dict[str, Any]]] = []
        self.counts: Counter[str] = Counter()
        self.recording = False
        self.counting = False
        self._lock = threading.Lock()
        for client in clients:
            client.meta.events.register("provide-client-params.*.*", self._record)

    def _record(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        if not (self.recording or self.counting):
            return
        thread = threading.current_thread().name
        if thread.startswith(_NOT_MESSAGE_THREADS):
            return
        with self._lock:
            if self.counting:
                self.counts[model.name] += 1
            if self.recording:
                self.calls.append(
                    (thread, model.service_model.service_name, model.name, copy.deepcopy(params))
                )


def calibration_loop_ms() -> float:
    """Milliseconds of CPU for 2 million additions in pure Python (the machine's speed now)."""
    started = time.process_time()
    total = 0
    for i in range(2_000_000):
        total += i
    return (time.process_time() - started) * 1000


def _percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


class MessageReplay:
    """One replay thread's message-equivalents: every per-message call as recorded, as often per
    message as counted under load; receives and deletes take and remove real messages."""

    receiving = threading.Lock()

    def __init__(
        self,
        clients: dict[str, Any],
        examples: dict[str, list[tuple[str, dict[str, Any]]]],
        rates: dict[str, float],
    ) -> None:
        self._clients = clients
        self._examples = examples
        self._rates = rates
        self._due: Counter[str] = Counter()
        self._turn: Counter[str] = Counter()

    def __call__(self) -> None:
        for operation, rate in self._rates.items():
            self._due[operation] += rate
            while self._due[operation] >= 1:
                self._due[operation] -= 1
                self._call(operation)

    def _call(self, operation: str) -> None:
        options = self._examples[operation]
        service, params = options[self._turn[operation] % len(options)]
        self._turn[operation] += 1
        client = self._clients[service]
        if operation == "ReceiveMessage":
            # One receiver at a time, as ferry dev has one per queue (moto's receive is not
            # safe across concurrent callers).
            # As many per receive as ferry dev's pollers got (each message is received once).
            batch = max(1, min(10, round(1 / self._rates[operation])))
            with self.receiving:
                received = (
                    client.receive_message(
                        **{**params, "WaitTimeSeconds": 0, "MaxNumberOfMessages": batch}
                    ).get("Messages")
                    or []
                )
            self._received = received
        elif operation == "DeleteMessageBatch":
            received, self._received = getattr(self, "_received", []), []
            if received:
                client.delete_message_batch(
                    QueueUrl=params["QueueUrl"],
                    Entries=[
                        {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(received)
                    ],
                )
        else:
            getattr(client, _snake(operation))(**params)


def measure(short: bool = False, publish_only: bool = False, same_process: bool = False) -> Figures:
    """The figures; `publish_only` runs without pollers (the gateway and API handler alone);
    `same_process` runs the client threads and the destination in this process (benchmarks.client_load.py)."""
    from ferry.wiring import services

    seconds = 10.0 if short else 30.0
    with DevStack(port=0, poller_concurrency=0 if publish_only else None) as stack:
        load = (InProcessLoad if same_process else ChildLoad)(stack.url, stack.secrets.api_token)
        try:
            svc = services()
            clients = [svc.sqs, svc.dynamodb, svc.secretsmanager, *(p._sqs for p in stack.pollers)]
            recorder = CallRecorder(clients)
            load.publish(20, b"warm-up")
            if not publish_only:
                load.delivered(20, timeout=60)
            time.sleep(0.5)  # the warm-up's last deletes
            recorder.recording = True
            samples = 10
            load.publish(samples, b"recorded")
            if not publish_only:
                load.delivered(20 + samples, timeout=60)
                time.sleep(0.5)
            recorder.recording = False
            calls = recorder.calls
            publish_calls = [
                (s, o, p) for thread, s, o, p in calls if not thread.startswith(_NOT_API_THREADS)
            ]
            per_publish = round(len(publish_calls) / samples)
            one_publish = publish_calls[-per_publish:]

            load.clear()
            loop_before_dev = calibration_loop_ms()
            recorder.counting = True
            first_publish = time.time()
            published, latencies = load.run(seconds, b"x" * 100)
            delivered = [] if publish_only else load.delivered(published, timeout=300)
            last_delivery = max(delivered, default=first_publish + 1)
            for poller in stack.pollers:
                poller.stop()
            recorder.counting = False
        finally:
            load.close()

        by_service = {client.meta.service_model.service_name: client for client in clients}
        loop_before_raw = calibration_loop_ms()

        def replay(_: None) -> None:
            for service, operation, params in one_publish:
                getattr(by_service[service], _snake(operation))(**params)

        raw, _ = _in_threads(seconds, replay, lambda _: None)

        raw_messages, calls_per_message, rates = 0, 0.0, {}
        if not publish_only:
            examples: dict[str, list[tuple[str, dict[str, Any]]]] = {}
            for _, service, operation, params in calls:
                examples.setdefault(operation, []).append((service, params))
            rates = {op: n / published for op, n in sorted(recorder.counts.items()) if op in examples}
            calls_per_message = sum(rates.values())
            raw_messages, _ = _in_threads(
                seconds, lambda state: state(), lambda _: MessageReplay(by_service, examples, rates)
            )
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
        aws_calls_per_message=calls_per_message,
        raw_message_equivalents_per_second=raw_messages / seconds,
        calls_by_operation=rates,
        loop_ms_before_ferry_dev=loop_before_dev,
        loop_ms_before_raw=loop_before_raw,
    )


def bench_rows(quick: bool = True) -> list[tuple[str, str]]:
    """`make bench`'s rows (short phases)."""
    f = measure(short=quick)
    return [
        (
            "publishes/s at 16 client threads, p50 / p99",
            f"{f.publishes_per_second:.1f}/s, {f.p50_ms:.0f} / {f.p99_ms:.0f} ms",
        ),
        ("deliveries/s end to end", f"{f.deliveries_per_second:.1f}/s"),
        (
            "raw emulator, a publish's calls: rate; publishes / raw",
            f"{f.raw_publish_equivalents_per_second:.1f}/s; {f.ratio_to_raw:.2f}",
        ),
        (
            "raw emulator, a message's calls (publish + delivery): rate; deliveries / raw",
            f"{f.raw_message_equivalents_per_second:.1f}/s ({f.aws_calls_per_message:.2f} calls); "
            f"{f.end_to_end_ratio_to_raw:.2f}",
        ),
        (
            "machine speed before the ferry dev / raw phase (calibration loop)",
            f"{f.loop_ms_before_ferry_dev:.0f} / {f.loop_ms_before_raw:.0f} ms",
        ),
    ]


def _snake(operation: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in operation).lstrip("_")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--short", "--quick", action="store_true", help="10 s phases (about 60 s in all)")
    parser.add_argument("--publish-only", action="store_true", help="pollers off: no deliveries beside")
    parser.add_argument(
        "--same-process", action="store_true", help="client threads and destination in the measuring process"
    )
    args = parser.parse_args()
    figures = measure(short=args.short, publish_only=args.publish_only, same_process=args.same_process)
    print(figures.table())
    print({**asdict(figures), "ratio_to_raw": round(figures.ratio_to_raw, 3)})


if __name__ == "__main__":
    main()
