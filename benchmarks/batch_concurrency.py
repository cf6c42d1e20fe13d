"""Benchmark: one dispatcher batch of 10 messages to a destination that takes 500 ms per request,
and publish->delivery latency on `ferry dev`.

Run: `make bench` (or `.venv/bin/python -m benchmarks.batch_concurrency`). Results go to stdout;
docs/benchmarks.md records them with the machine they ran on.
"""

from __future__ import annotations

import statistics
import time

from ferry.dev.lambda_context import DevLambdaContext
from ferry.dev.poller import to_sqs_event
from ferry.dev.stack import DevStack
from tests.support.target import Reply, Target

BATCH = 10
TARGET_DELAY = 0.5


def receive_all(sqs, queue_url: str, count: int) -> list[dict]:
    messages: list[dict] = []
    deadline = time.time() + 30
    while len(messages) < count and time.time() < deadline:
        got = sqs.receive_message(
            QueueUrl=queue_url,
            MaxNumberOfMessages=10,
            WaitTimeSeconds=1,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        messages.extend(got)
    return messages


def batch_duration(stack: DevStack, target: Target, qstash, path: str) -> float:
    from ferry.handlers import dispatcher_handler
    from ferry.wiring import services

    target.always(path, Reply(200, delay=TARGET_DELAY))
    for i in range(BATCH):
        qstash.message.publish(url=target.url(path), body=f"job {i}")
    svc = services()
    queue_url = stack.environ["FERRY_QUEUE_URL"]
    messages = receive_all(svc.sqs, queue_url, BATCH)
    assert len(messages) == BATCH, f"received {len(messages)} of {BATCH}"
    arn = svc.sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    event = to_sqs_event(messages, arn, "us-east-1")
    started = time.perf_counter()
    result = dispatcher_handler(event, DevLambdaContext("ferry-dispatcher"))
    elapsed = time.perf_counter() - started
    assert result["batchItemFailures"] == [], result
    assert len(target.requests_to(path)) == BATCH
    return elapsed


def publish_to_delivery_latency(qstash, target: Target, runs: int = 20) -> list[float]:
    samples = []
    for i in range(runs):
        path = f"/latency-{i}"
        started = time.time()
        qstash.message.publish(url=target.url(path), body="ping")
        [got] = target.wait_for(path, timeout=10)
        samples.append(got.at - started)
    return samples


def main() -> None:
    from qstash import QStash

    target = Target()
    # Pollers off for the batch measurement: the benchmark feeds the dispatcher one full batch itself.
    with DevStack(port=0, poller_concurrency=0) as stack:
        qstash = QStash(stack.secrets.api_token, base_url=stack.url, retry=False)
        runs = [batch_duration(stack, target, qstash, f"/slow-{run}") for run in range(3)]
    print(
        f"dispatcher batch of {BATCH} x {TARGET_DELAY * 1000:.0f} ms destination: "
        f"{', '.join(f'{r * 1000:.0f} ms' for r in runs)} "
        f"(sequential would be {BATCH * TARGET_DELAY * 1000:.0f} ms)"
    )

    with DevStack(port=0) as stack:
        qstash = QStash(stack.secrets.api_token, base_url=stack.url, retry=False)
        samples = publish_to_delivery_latency(qstash, target)
    samples.sort()
    print(
        f"publish -> delivery on ferry dev, {len(samples)} runs: "
        f"median {statistics.median(samples) * 1000:.0f} ms, max {samples[-1] * 1000:.0f} ms"
    )
    target.stop()


if __name__ == "__main__":
    main()
