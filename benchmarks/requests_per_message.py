"""Benchmark: AWS requests per message (the cost model), counted on `ferry dev`.

Publishes N messages with the official qstash SDK to a real HTTP server on 127.0.0.1 and counts
every AWS API call the handlers (and the SQS event-source stand-in) make until all are delivered:
first-attempt success, then a run where every message fails once before succeeding.

Run: `.venv/bin/python -m benchmarks.requests_per_message`
"""

from __future__ import annotations

import threading
import time
from collections import Counter

from botocore.client import BaseClient

from ferry.dev.stack import DevStack
from tests.support.target import Reply, Target

N = 50
_calls: Counter[str] = Counter()
_lock = threading.Lock()
_original = BaseClient._make_api_call


def _counting(self, operation_name, api_params):  # type: ignore[no-untyped-def]
    with _lock:
        _calls[f"{self.meta.service_model.service_name}:{operation_name}"] += 1
    return _original(self, operation_name, api_params)


def measure(stack: DevStack, target: Target, path: str, *, fail_first: bool) -> Counter[str]:
    from qstash import QStash

    from ferry.wiring import services

    qstash = QStash(stack.secrets.api_token, base_url=stack.url, retry=False)
    paths = [f"{path}-{i}" for i in range(N)]
    if fail_first:
        for each in paths:
            target.script(each, Reply(500))
    time.sleep(1.5)
    with _lock:
        _calls.clear()
    ids = [qstash.message.publish(url=target.url(p), body="m", retry_delay="0").message_id for p in paths]
    for each in paths:
        target.wait_for(each, count=2 if fail_first else 1, timeout=120)
    history = services().history
    deadline = time.time() + 60
    while time.time() < deadline:
        if all((history.state(i) or "") == "DELIVERED" for i in ids):
            break
        time.sleep(0.2)
    with _lock:
        # The dev ticker's Scheduler polling is the emulator's clock, not a cost in AWS.
        counted = Counter({k: v for k, v in _calls.items() if not k.startswith("scheduler:")})
    # The history reads above are the benchmark's own, not the product's.
    counted.subtract({"dynamodb:Query": len(ids) * 1})
    return +counted


def report(title: str, counted: Counter[str]) -> None:
    total = sum(counted.values())
    print(f"\n{title}: {total} AWS requests for {N} messages = {total / N:.2f} per message")
    for name, count in sorted(counted.items()):
        print(f"  {name:40s} {count:6d}  {count / N:6.2f}/msg")


def main() -> None:
    BaseClient._make_api_call = _counting
    target = Target()
    try:
        with DevStack(port=0) as stack:
            report("delivered on the first attempt", measure(stack, target, "/ok", fail_first=False))
            report("one failed attempt, then delivered", measure(stack, target, "/flaky", fail_first=True))
    finally:
        BaseClient._make_api_call = _original
        target.stop()
    print(
        "\nNotes: sqs:ReceiveMessage includes empty long polls of the two dev pollers during the run "
        "(Lambda's event source mapping polls too, and SQS bills those receives as well); "
        "dynamodb:Query from the benchmark's own completion checks is subtracted approximately."
    )


if __name__ == "__main__":
    main()
