"""Benchmark: cold start of the two Lambda handlers, each in a fresh interpreter.

For every run a new Python process (what a Lambda cold start gets) times
  1. `import handler` from `functions/<name>/` — Lambda's init phase for Ferry's code (goal ≤150 ms);
  2. the first invocation — which imports the routes / use cases / adapters, creates the boto3
     clients and reads the secrets — against `ferry dev`'s emulator: for the API a publish
     through the real handler, for the dispatcher one real SQS record delivered to a loopback
     target.
It also times the import with AWS-call tracing switched on (`FERRY_TRACE_AWS_CALLS=true`: the
powertools Tracer and the X-Ray SDK), and lists the heaviest imports from `-X importtime`.

Run: `.venv/bin/python -m benchmarks.cold_start` (about 20 s). Python 3.11 here; Lambda runs
3.12 on arm64 with a fraction of a core at 256 MB, so absolute numbers there differ.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
HANDLERS = {"api": ROOT / "functions" / "api", "dispatcher": ROOT / "functions" / "dispatcher"}

# Runs in the fresh interpreter: time the import, then one invocation with the given event.
_CHILD = """
import json, sys, time
started = time.perf_counter()
import handler
imported = time.perf_counter()
result = None
if sys.argv[1]:
    from ferry.dev.lambda_context import DevLambdaContext
    event = json.load(open(sys.argv[1]))
    result = handler.handler(event, DevLambdaContext("cold-start"))
invoked = time.perf_counter()
result = result or {}
print(json.dumps({
    "import_ms": (imported - started) * 1000,
    "first_call_ms": (invoked - imported) * 1000,
    "status": result.get("statusCode"),
    "failures": result.get("batchItemFailures"),
}))
"""


def _child(
    folder: Path, event_file: str = "", env: dict[str, str] | None = None, *, bytecode: bool = True
) -> dict[str, Any]:
    """One fresh interpreter. `bytecode=False` finds no cached byte code and writes none: what a
    layer without `__pycache__` costs on Lambda, whose /opt is read-only."""
    flags: list[str] = []
    if not bytecode:
        flags = ["-B"]
        env = {**(env or {}), "PYTHONPYCACHEPREFIX": tempfile.mkdtemp(prefix="no-bytecode-")}
    out = subprocess.run(
        [sys.executable, *flags, "-c", _CHILD, event_file],
        cwd=folder,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def heaviest(folder: Path, top: int = 5, env: dict[str, str] | None = None) -> list[tuple[float, str]]:
    """The top-level imports of `import handler` with the largest cumulative time (ms)."""
    err = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import handler"],
        cwd=folder,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        check=True,
    ).stderr
    rows = []
    for line in err.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        _, cumulative, name = (part.strip(" ") for part in line[len("import time:") :].split("|"))
        depth = len(name) - len(name.lstrip(" "))
        if depth <= 4:  # the handler's own imports and theirs
            rows.append((int(cumulative) / 1000, name.strip()))
    return sorted(rows, reverse=True)[:top]


def _api_publish_event(stack: Any, destination: str) -> dict[str, Any]:
    from ferry.dev.gateway import to_event

    return to_event(
        method="POST",
        target=f"/v2/publish/{destination}",
        headers=[("Authorization", f"Bearer {stack.secrets.api_token}"), ("Content-Type", "text/plain")],
        body=b"cold start",
        source_ip="127.0.0.1",
    )


def _dispatcher_events(stack: Any, destination: str, count: int) -> list[dict[str, Any]]:
    """`count` one-record SQS events, each a real published message received from the queue."""
    from qstash import QStash

    from benchmarks.dispatcher_duration import receive
    from ferry.dev.poller import to_sqs_event
    from ferry.wiring import services

    qstash = QStash(stack.secrets.api_token, base_url=stack.url, retry=False)
    for i in range(count):
        qstash.message.publish(url=destination, body=f"cold {i}", retries=0)
    sqs = services().sqs
    queue_url = stack.environ["FERRY_QUEUE_URL"]
    arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return [to_sqs_event([m], arn, "us-east-1") for m in receive(sqs, queue_url, count)]


def measure(runs: int = 7, runs_without_bytecode: int = 3) -> dict[str, dict[str, float]]:
    """Median import and first-call milliseconds per handler; the same without byte code; and the
    import with tracing on."""
    from benchmarks.emulator_port import emulator_endpoint
    from ferry.dev.stack import DevStack
    from tests.support.target import Target

    target = Target()
    results: dict[str, dict[str, float]] = {}
    try:
        with (
            DevStack(port=0, poller_concurrency=0) as stack,
            emulator_endpoint() as endpoint,
            tempfile.TemporaryDirectory() as tmp,
        ):
            # The children reach this process's emulator over loopback, as a Lambda reaches AWS.
            env = {**stack.environ, "POWERTOOLS_LOG_LEVEL": "WARNING", "AWS_ENDPOINT_URL": endpoint}
            total = runs + runs_without_bytecode
            events = {
                "api": [_api_publish_event(stack, target.url("/cold-api"))] * total,
                "dispatcher": _dispatcher_events(stack, target.url("/cold-dispatch"), total),
            }
            for name, folder in HANDLERS.items():
                samples, uncompiled = [], []
                for i, event in enumerate(events[name]):
                    path = Path(tmp) / f"{name}-{i}.json"
                    path.write_text(json.dumps(event))
                    sample = _child(folder, str(path), env, bytecode=i < runs)
                    assert sample["status"] in (None, 200, 201), sample
                    assert not sample["failures"], sample
                    (samples if i < runs else uncompiled).append(sample)
                traced = [
                    _child(folder, env={**env, "FERRY_TRACE_AWS_CALLS": "true"})["import_ms"]
                    for _ in range(3)
                ]
                results[name] = {
                    "import_ms": statistics.median(s["import_ms"] for s in samples),
                    "first_call_ms": statistics.median(s["first_call_ms"] for s in samples),
                    "import_traced_ms": statistics.median(traced),
                    "import_no_bytecode_ms": statistics.median(s["import_ms"] for s in uncompiled),
                    "first_call_no_bytecode_ms": statistics.median(s["first_call_ms"] for s in uncompiled),
                }
    finally:
        target.stop()
    return results


def main() -> None:
    results = measure()
    for name, figures in results.items():
        print(
            f"{name}: import handler {figures['import_ms']:.0f} ms (median, fresh interpreter), "
            f"first invocation {figures['first_call_ms']:.0f} ms, "
            f"import with FERRY_TRACE_AWS_CALLS=true {figures['import_traced_ms']:.0f} ms; "
            f"without byte code: import {figures['import_no_bytecode_ms']:.0f} ms, "
            f"first invocation {figures['first_call_no_bytecode_ms']:.0f} ms"
        )
        for cumulative, module in heaviest(HANDLERS[name]):
            print(f"    {module:50s} {cumulative:7.1f} ms")


if __name__ == "__main__":
    main()
