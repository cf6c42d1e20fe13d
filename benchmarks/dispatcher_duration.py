"""Benchmark: billed dispatcher GB-seconds per message, delivering to a 300 ms endpoint.

Lambda bills the dispatcher for wall time, rounded up to 1 ms, times its memory, also while it
waits on destinations. Goal: at 256 MB, at most 1/20 of the endpoint's latency per message
(15 ms of billed duration per message for a 300 ms endpoint, 0.00375 GB-s).

How: `ferry dev`'s emulator with the SQS pollers off (served to the timed process on a loopback
port by moto's server, which shares the in-process backends); messages published with the official SDK
(`/v2/batch`) to a real HTTP server on 127.0.0.1 that answers after 300 ms; received from the
queue and grouped into Lambda-shaped SQS events of `batch` records. A separate Python process
plays one warm Lambda execution environment: it imports the real dispatcher handler, runs one
warm-up batch (cold start is benchmarks/cold_start.py's), then times each batch (wall and CPU),
with INFO logs and EMF metrics on as in Lambda. Billed ms = ceil(wall ms) per invocation.

The CPU-share column estimates Lambda at 256 MB, which gets 256/1769 of a vCPU: the CPU time
measured here stretched by 1769/256, added to the wall time (an upper bound: it assumes none of
that CPU work overlaps the waiting).

Run: `.venv/bin/python -m benchmarks.dispatcher_duration [--quick]`.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
ENDPOINT_SECONDS = 0.3
MEMORY_GB = 256 / 1024
# Lambda allocates one full vCPU at 1,769 MB and CPU in proportion to memory below that.
FULL_VCPU_MB = 1769
CPU_STRETCH_AT_256_MB = FULL_VCPU_MB / 256
GOAL_FRACTION = 1 / 20

# One warm execution environment: the first event warms it up; every later one is timed.
_CHILD = """
import json, sys, time
import handler
from ferry.dev.lambda_context import DevLambdaContext
events = json.load(open(sys.argv[1]))
timings = []
for index, event in enumerate(events):
    wall, cpu = time.perf_counter(), time.process_time()
    result = handler.handler(event, DevLambdaContext("ferry-dispatcher"))
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    if index:
        timings.append({"wall_ms": wall * 1000, "cpu_ms": cpu * 1000, "records": len(event["Records"]),
                        "failures": len(result["batchItemFailures"])})
json.dump(timings, open(sys.argv[2], "w"))
"""


@dataclass(frozen=True)
class Run:
    batch: int
    concurrency: int
    batches: int
    messages: int
    billed_ms: int
    cpu_ms: float
    wall_ms: float

    @property
    def gb_s_per_message(self) -> float:
        return self.billed_ms / 1000 * MEMORY_GB / self.messages

    @property
    def billed_ms_per_message(self) -> float:
        return self.billed_ms / self.messages

    @property
    def estimated_ms_per_message_at_256_mb(self) -> float:
        return (self.wall_ms + self.cpu_ms * (CPU_STRETCH_AT_256_MB - 1)) / self.messages

    @property
    def fraction_of_endpoint(self) -> float:
        return self.billed_ms_per_message / (ENDPOINT_SECONDS * 1000)


def receive(sqs: Any, queue_url: str, count: int, timeout: float = 60) -> list[dict[str, Any]]:
    """`count` messages from the queue (SQS hands out at most 10 per call)."""
    messages: list[dict[str, Any]] = []
    deadline = time.time() + timeout
    while len(messages) < count and time.time() < deadline:
        messages += sqs.receive_message(
            QueueUrl=queue_url,
            MaxNumberOfMessages=min(10, count - len(messages)),
            WaitTimeSeconds=1,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        ).get("Messages", [])
    if len(messages) < count:
        raise RuntimeError(f"received {len(messages)} of {count} messages")
    return messages


def _publish(qstash: Any, url: str, count: int) -> None:
    for start in range(0, count, 50):
        size = min(50, count - start)
        qstash.message.batch([{"url": url, "body": f"job {start + i}", "retries": 0} for i in range(size)])


def measure_one(
    stack: Any, target: Any, batch: int, concurrency: int, batches: int, endpoint_url: str
) -> Run:
    from qstash import QStash

    from ferry.dev.poller import to_sqs_event
    from ferry.wiring import services

    path = f"/slow-{batch}-{concurrency}"
    target.always(path, _reply())
    qstash = QStash(stack.secrets.api_token, base_url=stack.url, retry=False)
    total = batch * (batches + 1)
    _publish(qstash, target.url(path), total)
    sqs = services().sqs
    queue_url = stack.environ["FERRY_QUEUE_URL"]
    arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    received = receive(sqs, queue_url, total)
    events = [to_sqs_event(received[i : i + batch], arn, "us-east-1") for i in range(0, total, batch)]
    with tempfile.TemporaryDirectory() as tmp:
        events_file, timings_file = Path(tmp) / "events.json", Path(tmp) / "timings.json"
        events_file.write_text(json.dumps(events))
        env = {
            **os.environ,
            **stack.environ,
            # As in Lambda: INFO logs and EMF metrics, written to stdout (discarded here).
            "POWERTOOLS_LOG_LEVEL": "INFO",
            "POWERTOOLS_METRICS_DISABLED": "false",
            # Lambda sets it; powertools' async batch processor then keeps one event loop per
            # execution environment instead of `asyncio.run` per batch, whose SIGINT handler
            # swap on the main thread formats the running task (every record) twice per batch.
            "LAMBDA_TASK_ROOT": str(ROOT / "functions" / "dispatcher"),
            "FERRY_DISPATCHER_CONCURRENCY": str(concurrency),
            # The child reaches this process's emulator over loopback HTTP, as a Lambda reaches
            # AWS over the network: the emulator's own CPU is not the dispatcher's.
            "AWS_ENDPOINT_URL": endpoint_url,
        }
        subprocess.run(
            [sys.executable, "-c", _CHILD, str(events_file), str(timings_file)],
            cwd=ROOT / "functions" / "dispatcher",
            env=env,
            stdout=subprocess.DEVNULL,
            check=True,
        )
        timings = json.loads(timings_file.read_text())
    if any(t["failures"] for t in timings):
        raise RuntimeError(f"deliveries failed: {timings}")
    # (Raises if the endpoint did not get every delivery: with retries=0 a failed attempt is
    # dead-lettered, not reported as a batch item failure.)
    target.wait_for(path, count=total, timeout=30)
    return Run(
        batch=batch,
        concurrency=concurrency,
        batches=len(timings),
        messages=sum(t["records"] for t in timings),
        billed_ms=sum(math.ceil(t["wall_ms"]) for t in timings),
        cpu_ms=sum(t["cpu_ms"] for t in timings),
        wall_ms=sum(t["wall_ms"] for t in timings),
    )


def _reply() -> Any:
    from tests.support.target import Reply

    return Reply(200, delay=ENDPOINT_SECONDS)


FULL = ((1, 1), (10, 10), (25, 25), (50, 50), (100, 100), (50, 10))
QUICK = ((10, 10), (50, 50))


def measure(configurations: tuple[tuple[int, int], ...] = FULL, batches: int = 3) -> list[Run]:
    from benchmarks.emulator_port import emulator_endpoint
    from ferry.dev.stack import DevStack
    from tests.support.target import Target

    target = Target()
    try:
        # `ferry dev`'s emulator lives in this process (no socket); the timed dispatcher runs in a
        # process of its own and reaches it over loopback.
        with DevStack(port=0, poller_concurrency=0) as stack, emulator_endpoint() as url:
            return [measure_one(stack, target, b, c, batches, url) for b, c in configurations]
    finally:
        target.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="only batches of 10 and 50, 2 batches each")
    args = parser.parse_args()
    runs = measure(QUICK, batches=2) if args.quick else measure()
    goal_ms = ENDPOINT_SECONDS * 1000 * GOAL_FRACTION
    print(
        f"dispatcher, {ENDPOINT_SECONDS * 1000:.0f} ms endpoint, 256 MB (goal ≤ {goal_ms:.0f} ms per message)"
    )
    print("batch  concurrency  billed ms/msg  GB-s/msg   of endpoint  CPU ms/msg  est. ms/msg @256MB CPU")
    for r in runs:
        print(
            f"{r.batch:5d}  {r.concurrency:11d}  {r.billed_ms_per_message:13.1f}  {r.gb_s_per_message:.6f}  "
            f"{r.fraction_of_endpoint:10.3f}  {r.cpu_ms / r.messages:10.1f}  "
            f"{r.estimated_ms_per_message_at_256_mb:22.1f}"
        )


if __name__ == "__main__":
    main()
