"""Benchmark: AWS requests, DynamoDB write/read units and handler time per message, on `ferry dev`.

For each history level and scenario, N messages are published one by one with the official
qstash SDK to a real HTTP server on 127.0.0.1 while the queue is not consumed; then a stand-in
for the event source mapping (ferry dev's SqsPoller, 10 records per receive) drains the full
queue through the real dispatcher handler: the "under load" case, where SQS receive and delete
are batched. Every AWS call of the handlers and of the poller is metered (benchmarks/aws_meter.py:
requests, write units incl. the index, read units by consistency); the dev ticker's Scheduler
polling is excluded (the emulator's clock, not a cost in AWS), and so are the benchmark's checks.

Then it exercises what a cheaper history level must not break (GET of a pending message, its
logs, its cancellation, the logs listing) and meters each call.

Run: `.venv/bin/python -m benchmarks.requests_per_message [--quick]`; priced:
`.venv/bin/python -m benchmarks.cost_model`.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import threading
import time
import urllib.request
from dataclasses import dataclass
from typing import Any

from benchmarks.aws_meter import AwsMeter, Tally, calls_in_thread, cpu_outside_lambda

IGNORED_SERVICES = ("scheduler",)
# Set-up calls, not per-message work: the poller stand-in reads its queue's ARN once.
IGNORED_OPERATIONS = ("sqs:GetQueueAttributes",)


@dataclass(frozen=True)
class PerMessage:
    """One scenario's metered figures, divided by the number of messages."""

    level: str
    scenario: str
    body_bytes: int
    messages: int
    requests: dict[str, float]
    table_wru: float
    index_wru: float
    strong_rru: float
    eventual_rru: float
    strong_reads: float
    api_invocations: float
    api_billed_ms: float
    api_cpu_ms: float
    api_aws_calls: float
    dispatcher_invocations: float
    dispatcher_records: float
    # How the body compresses (tests/support/bodies.py): "repeated", "json" or "random".
    body_kind: str

    @property
    def body(self) -> str:
        return f"{self.body_bytes} B" + ("" if self.body_kind == "repeated" else f" {self.body_kind}")

    @property
    def wru(self) -> float:
        return self.table_wru + self.index_wru

    @property
    def rru(self) -> float:
        return self.strong_rru + self.eventual_rru

    def service_requests(self, service: str) -> float:
        return sum(v for k, v in self.requests.items() if k.startswith(f"{service}:"))

    @property
    def receive_and_delete(self) -> float:
        return self.requests.get("sqs:ReceiveMessage", 0) + self.requests.get("sqs:DeleteMessageBatch", 0)

    @property
    def aws_requests(self) -> float:
        return sum(self.requests.values())

    @classmethod
    def of(
        cls, tally: Tally, n: int, *, level: str, scenario: str, body_bytes: int, body_kind: str, **per: float
    ) -> PerMessage:
        return cls(
            level=level,
            scenario=scenario,
            body_bytes=body_bytes,
            messages=n,
            requests={k: v / n for k, v in sorted(tally.requests.items()) if k not in IGNORED_OPERATIONS},
            table_wru=tally.table_wru / n,
            index_wru=tally.index_wru / n,
            strong_rru=tally.strong_rru / n,
            eventual_rru=tally.eventual_rru / n,
            strong_reads=tally.strong_reads / n,
            body_kind=body_kind,
            **per,
        )


class TimedHandler:
    """Wraps a Lambda handler: counts invocations and their billed milliseconds (rounded up)."""

    def __init__(self, handler: Any) -> None:
        self._handler = handler
        self._lock = threading.Lock()
        self.invocations = 0
        self.billed_ms = 0
        self.cpu_ms = 0.0
        self.aws_calls = 0
        self.records = 0
        self.in_flight = 0

    def __call__(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        with self._lock:
            self.in_flight += 1
            self.records += len(event.get("Records") or [])
        started, cpu, outside = time.perf_counter(), time.thread_time(), cpu_outside_lambda()
        calls = calls_in_thread()
        try:
            return self._handler(event, context)
        finally:
            elapsed_ms = (time.perf_counter() - started) * 1000
            # The handler's own CPU (its AWS calls run in its thread; worker threads' do not
            # count), without the emulator's side of its AWS calls and the meter's hooks.
            cpu_ms = (time.thread_time() - cpu - (cpu_outside_lambda() - outside)) * 1000
            with self._lock:
                self.in_flight -= 1
                self.invocations += 1
                self.billed_ms += math.ceil(elapsed_ms)
                self.cpu_ms += cpu_ms
                self.aws_calls += calls_in_thread() - calls

    def reset(self) -> None:
        with self._lock:
            self.invocations = self.billed_ms = self.records = self.aws_calls = 0
            self.cpu_ms = 0.0


class Bench:
    """One `ferry dev` stack with metered clients, timed handlers and a loopback destination."""

    def __init__(self) -> None:
        # Quiet handlers (their loggers read the level when ferry.handlers is first imported).
        os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
        import ferry.handlers
        from tests.support.target import Target

        self.meter = AwsMeter(ignore_services=IGNORED_SERVICES)
        self.target = Target()
        self.api = TimedHandler(ferry.handlers.api_handler)
        self.dispatcher = TimedHandler(ferry.handlers.dispatcher_handler)
        self._original_api = ferry.handlers.api_handler
        self._installed = self.meter.installed()

    def __enter__(self) -> Bench:
        import ferry.handlers
        from ferry.dev.stack import DevStack

        self._installed.__enter__()
        # The dev stack serves whatever `ferry.handlers.api_handler` is when it starts.
        ferry.handlers.api_handler = self.api  # type: ignore[assignment]
        self.stack = DevStack(port=0, poller_concurrency=0).start()
        ferry.handlers.api_handler = self._original_api
        return self

    def __exit__(self, *exc: object) -> None:
        self.stack.stop()
        self.target.stop()
        self._installed.__exit__(*exc)

    def use_level(self, level: str) -> None:
        """New services at `level`, warmed up (clients, secrets, an API instance) as a warm Lambda
        is: first-invocation costs are benchmarks/cold_start.py's, not per-message ones."""
        from ferry import wiring

        os.environ["FERRY_HISTORY_LEVEL"] = level
        wiring.reset_services()
        svc = wiring.services()
        for client in (svc.sqs, svc.dynamodb, svc.secretsmanager):
            assert client is not None
        # The use cases and the clients they build on first use (Scheduler, Step Functions):
        for use_case in (svc.publish, svc.deliver):
            assert use_case is not None
        svc.keys.current()
        self.call("GET", "/v2/messages/msg_warm_up")
        # One publish through the whole path (delayed: it never reaches the measured drain).
        self.qstash().message.publish(url=self.target.url("/warm-up"), body="w", delay="1h")

    def qstash(self) -> Any:
        from qstash import QStash

        return QStash(self.stack.secrets.api_token, base_url=self.stack.url, retry=False)

    def drain(self, paths: list[str], attempts_per_path: int) -> None:
        """Deliver everything queued, 10 records per receive, as the event source mapping would."""
        import boto3

        from ferry.dev.poller import SqsPoller

        poller = SqsPoller(
            boto3.session.Session().client("sqs"),
            queue_url=self.stack.environ["FERRY_QUEUE_URL"],
            handler=self.dispatcher,
            batch_size=10,
            concurrency=1,
            wait_seconds=1,
        )
        poller.start()
        try:
            for path in paths:
                self.target.wait_for(path, count=attempts_per_path, timeout=120)
        finally:
            poller.stop()

    def call(self, method: str, path: str) -> tuple[int, Any]:
        request = urllib.request.Request(
            self.stack.url + path,
            method=method,
            headers={"Authorization": f"Bearer {self.stack.secrets.api_token}"},
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"null")


def deliveries(
    bench: Bench, *, level: str, n: int, body_bytes: int, fail_first: bool, body_kind: str = "repeated"
) -> PerMessage:
    from tests.support import bodies
    from tests.support.target import Reply

    bench.use_level(level)
    scenario = "one failed attempt, then delivered" if fail_first else "delivered on the first attempt"
    tag = f"{level}-{body_bytes}-{body_kind}-{'flaky' if fail_first else 'ok'}-{time.monotonic_ns()}"
    paths = [f"/{tag}-{i}" for i in range(n)]
    if fail_first:
        for path in paths:
            bench.target.script(path, Reply(500))
    qstash = bench.qstash()
    make_body = {
        "repeated": bodies.repeated_text,
        "json": bodies.order_event_json,
        "random": bodies.random_text,
    }
    body = make_body[body_kind](body_bytes)
    time.sleep(1.2)  # let the dev ticker's and pollers' start-up calls pass
    bench.meter.reset()
    bench.api.reset()
    bench.dispatcher.reset()
    for path in paths:
        qstash.message.publish(url=bench.target.url(path), body=body, retries=3, retry_delay="0")
    bench.drain(paths, attempts_per_path=2 if fail_first else 1)
    time.sleep(0.2)  # the last batch's history writes and deletes
    tally = bench.meter.reset()
    return PerMessage.of(
        tally,
        n,
        level=level,
        scenario=scenario,
        body_bytes=body_bytes,
        api_invocations=bench.api.invocations / n,
        api_billed_ms=bench.api.billed_ms / max(bench.api.invocations, 1),
        api_cpu_ms=bench.api.cpu_ms / max(bench.api.invocations, 1),
        api_aws_calls=bench.api.aws_calls / max(bench.api.invocations, 1),
        dispatcher_invocations=bench.dispatcher.invocations / n,
        dispatcher_records=bench.dispatcher.records / n,
        body_kind=body_kind,
    )


@dataclass(frozen=True)
class Operation:
    name: str
    requests: float
    wru: float
    rru: float
    strong_reads: float
    works: bool


def operations(bench: Bench, *, level: str, n: int = 5) -> list[Operation]:
    """GET, logs and cancel of pending (delayed) messages, and one logs page: metered per call."""
    bench.use_level(level)
    qstash = bench.qstash()
    ids = [
        qstash.message.publish(url=bench.target.url(f"/pending-{level}-{i}"), body="p", delay="1h").message_id
        for i in range(n)
    ]
    results = []
    for name, method, path_of, check in (
        ("GET pending message", "GET", lambda i: f"/v2/messages/{i}", lambda s, b, i: s == 200),
        (
            "its logs (messageId filter)",
            "GET",
            lambda i: f"/v2/events?messageId={i}",
            lambda s, b, i: s == 200 and [e["state"] for e in b["events"]] == ["CREATED"],
        ),
        ("cancel it", "DELETE", lambda i: f"/v2/messages/{i}", lambda s, b, i: s == 200),
        (
            "its logs after the cancel",
            "GET",
            lambda i: f"/v2/events?messageId={i}",
            lambda s, b, i: s == 200 and {e["state"] for e in b["events"]} >= {"CANCEL_REQUESTED"},
        ),
        ("logs page (count=10)", "GET", lambda i: "/v2/events?count=10", lambda s, b, i: s == 200),
    ):
        bench.meter.reset()
        works = True
        for message_id in ids:
            status, body = bench.call(method, path_of(message_id))
            works = works and check(status, body, message_id)
        tally = bench.meter.reset()
        results.append(
            Operation(
                name=name,
                requests=sum(tally.requests.values()) / n,
                wru=tally.wru / n,
                rru=tally.rru / n,
                strong_reads=tally.strong_reads / n,
                works=works,
            )
        )
    return results


LEVELS = ("full", "errors")


def measure(
    n: int = 40, levels: tuple[str, ...] = LEVELS
) -> tuple[list[PerMessage], dict[str, list[Operation]]]:
    runs: list[PerMessage] = []
    ops: dict[str, list[Operation]] = {}
    with Bench() as bench:
        for level in levels:
            runs.append(deliveries(bench, level=level, n=n, body_bytes=100, fail_first=False))
            # The goal's case is a 1 KB message: a JSON payload, and the incompressible worst case.
            runs.append(
                deliveries(bench, level=level, n=n, body_bytes=1024, fail_first=False, body_kind="json")
            )
            runs.append(
                deliveries(bench, level=level, n=n, body_bytes=1024, fail_first=False, body_kind="random")
            )
            runs.append(deliveries(bench, level=level, n=n, body_bytes=100, fail_first=True))
            ops[level] = operations(bench, level=level)
        bench.use_level(levels[0])
    return runs, ops


def report(runs: list[PerMessage], ops: dict[str, list[Operation]]) -> None:
    for r in runs:
        print(
            f"\n[{r.level}] {r.scenario}, {r.body} body, {r.messages} messages: "
            f"{r.aws_requests:.2f} AWS requests, {r.wru:.2f} WRU ({r.table_wru:.2f} table + "
            f"{r.index_wru:.2f} index), {r.rru:.2f} RRU ({r.strong_reads:.2f} strongly consistent reads), "
            f"publish handler {r.api_billed_ms:.1f} ms ({r.api_cpu_ms:.1f} ms CPU), "
            f"{r.dispatcher_invocations:.2f} dispatcher invocations"
        )
        for name, count in r.requests.items():
            print(f"    {name:40s} {count:6.2f}")
    for level, found in ops.items():
        print(f"\n[{level}] per call: requests, WRU, RRU, strongly consistent reads, works")
        for op in found:
            print(
                f"    {op.name:32s} {op.requests:5.2f} {op.wru:5.2f} {op.rru:5.2f} {op.strong_reads:5.2f} "
                f"{'yes' if op.works else 'NO'}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="20 messages per scenario")
    args = parser.parse_args()
    runs, ops = measure(n=20 if args.quick else 40)
    report(runs, ops)


if __name__ == "__main__":
    main()
