"""Benchmark: what a workflow step costs on the run driver — state transitions, AWS requests and
dollars per step and per 1,000 runs of a 5-step workflow — measured on `ferry dev`.

Runs R runs of a 5-step `context.run` workflow with the unchanged `upstash-workflow` Python SDK
(served on 127.0.0.1) and counts:
- state transitions: the `*StateEntered` events of every execution's history (what Standard
  workflows bill), read with GetExecutionHistory;
- AWS requests: every botocore call the handlers make (API, dispatcher, the SQS event-source
  stand-in), plus the run driver's own SQS sends (moto's interpreter makes them in process too);
  the dev ticker's Scheduler polling and this script's reads are excluded.
Prices: shared/reference/aws-limits-and-prices.md (us-east-1, late 2026).

Run: `.venv/bin/python -m benchmarks.workflow_cost`
"""

from __future__ import annotations

import threading
import time
from collections import Counter

from botocore.client import BaseClient

from ferry.dev.stack import DevStack

RUNS = 10
STEPS = 5
_calls: Counter[str] = Counter()
_lock = threading.Lock()
_counting_on = threading.Event()
_original = BaseClient._make_api_call

# $ per request (or unit), from aws-limits-and-prices.md.
PRICES = {
    "states:transition": 0.025 / 1_000,
    "sqs": 0.40 / 1_000_000,
    "dynamodb:write": 0.625 / 1_000_000,
    "dynamodb:read": 0.125 / 1_000_000,
    "states:api": 0.0,  # SendTask*/StartExecution are not billed; transitions are
    "apigateway": 1.00 / 1_000_000,
    "lambda": 0.20 / 1_000_000,
    "secretsmanager": 0.05 / 10_000,
}
_WRITES = {"PutItem", "UpdateItem", "BatchWriteItem", "TransactWriteItems", "DeleteItem"}


def _counting(self, operation_name, api_params):  # type: ignore[no-untyped-def]
    if _counting_on.is_set():
        with _lock:
            _calls[f"{self.meta.service_model.service_name}:{operation_name}"] += 1
    return _original(self, operation_name, api_params)


def _price(name: str, count: int) -> float:
    service, _, operation = name.partition(":")
    if service == "dynamodb":
        # Transactions cost two units per item; the run log's transaction writes two items.
        units = 4 if operation == "TransactWriteItems" else 1
        key = "dynamodb:write" if operation in _WRITES else "dynamodb:read"
        return count * units * PRICES[key]
    if service == "stepfunctions":
        return 0.0
    return count * PRICES.get(service, 0.0)


def main() -> None:
    from qstash import QStash

    from tests.integration.workflow_app import WorkflowApp

    BaseClient._make_api_call = _counting
    try:
        with DevStack(port=0) as stack:
            app = WorkflowApp.for_stack(stack)

            def five_steps(context) -> None:
                for index in range(STEPS):
                    context.run(f"step-{index}", lambda index=index: index)

            url = app.route("/five-steps", five_steps)
            from ferry.wiring import services

            svc = services()
            qstash = QStash(stack.secrets.api_token, base_url=stack.url, retry=False)
            time.sleep(1.5)
            _counting_on.set()
            started = time.monotonic()
            for _ in range(RUNS):
                qstash.message.publish_json(url=url, body={})
            deadline = time.time() + 300
            while time.time() < deadline:
                runs, _ = svc.workflow_runs.list(url=url, state="RUN_SUCCESS")
                if len(runs) == RUNS and all(svc.run_driver.status(r.execution) == "SUCCEEDED" for r in runs):
                    break
                time.sleep(0.5)
            elapsed = time.monotonic() - started
            _counting_on.clear()
            with _lock:
                counted = Counter({k: v for k, v in _calls.items() if not k.startswith("scheduler:")})
            # This script's own polling (ListRuns query + GetItem per run, DescribeExecution).
            for name in ("dynamodb:Query", "dynamodb:GetItem", "stepfunctions:DescribeExecution"):
                counted.pop(name, None)
            transitions = 0
            for run in runs:
                events = svc.stepfunctions.get_execution_history(executionArn=run.execution, maxResults=1000)
                transitions += sum(1 for e in events["events"] if e["type"].endswith("StateEntered"))
            app.stop()
    finally:
        BaseClient._make_api_call = _original

    steps = RUNS * STEPS
    requests = sum(counted.values())
    dollars = sum(_price(name, count) for name, count in counted.items())
    dollars += transitions * PRICES["states:transition"]
    print(f"{RUNS} runs x {STEPS} steps in {elapsed:.1f} s on ferry dev")
    print(
        f"state transitions: {transitions} = {transitions / steps:.2f} per step, "
        f"{transitions / RUNS:.1f} per run"
    )
    print(f"AWS requests (handlers + run driver): {requests} = {requests / steps:.2f} per step")
    for name, count in sorted(counted.items()):
        print(f"  {name:40s} {count:6d}  {count / steps:6.2f}/step")
    print(
        f"$ (transitions + SQS + DynamoDB + Secrets, excluding API Gateway/Lambda): "
        f"{dollars / steps * 1_000:.4f} per 1,000 steps, {dollars / RUNS * 1_000:.4f} per 1,000 runs"
    )


if __name__ == "__main__":
    main()
