"""`ferry dev`'s stand-in for the SQS event source mapping: a new invocation starts while earlier
ones are still busy, up to the maximum concurrency, and what the handler reports as failed stays
in the queue."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from ferry.dev.poller import SqsPoller
from tests.support.waiting import wait_until


class HeldDispatcher:
    """A dispatcher handler that holds each invocation until released; fails the records it is told."""

    def __init__(self, failing: set[str] = frozenset()) -> None:
        self.release = threading.Event()
        self.bodies: list[str] = []
        self.in_flight = 0
        self.most_in_flight = 0
        self._failing = failing
        self._lock = threading.Lock()

    def __call__(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        with self._lock:
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
            self.bodies.extend(r["body"] for r in event["Records"])
        self.release.wait(30)
        with self._lock:
            self.in_flight -= 1
        failed = [{"itemIdentifier": r["messageId"]} for r in event["Records"] if r["body"] in self._failing]
        return {"batchItemFailures": failed}


@pytest.fixture
def sqs() -> Iterator[Any]:
    with mock_aws():
        yield boto3.client("sqs", region_name="us-east-1")


@pytest.fixture
def url(sqs: Any, request: pytest.FixtureRequest) -> str:
    # A queue of the test's own: the process's emulator may be shared with a running `ferry dev`.
    name = "poller-" + request.node.name[-60:].replace("_", "-")
    return sqs.create_queue(QueueName=name, Attributes={"VisibilityTimeout": "600"})["QueueUrl"]


def test_a_new_invocation_starts_while_an_earlier_one_is_still_busy_up_to_the_maximum(sqs, url):
    handler = HeldDispatcher()
    poller = SqsPoller(sqs, queue_url=url, handler=handler, batch_size=1, concurrency=3, wait_seconds=0)
    poller.start()
    try:
        for i in range(5):
            sqs.send_message(QueueUrl=url, MessageBody=f"m{i}")
        wait_until(lambda: handler.in_flight == 3, what="three invocations in flight")
        assert len(handler.bodies) == 3, "no fourth invocation beyond the maximum concurrency"
        handler.release.set()
        wait_until(lambda: len(handler.bodies) == 5, what="the other two, once invocations were free")
    finally:
        handler.release.set()
        assert poller.stop(timeout=10)
    assert handler.most_in_flight == 3
    assert sorted(handler.bodies) == [f"m{i}" for i in range(5)]


def test_what_the_handler_reports_as_failed_stays_in_the_queue_and_the_rest_is_deleted(sqs, url):
    handler = HeldDispatcher(failing={"bad"})
    handler.release.set()
    poller = SqsPoller(sqs, queue_url=url, handler=handler, batch_size=10, concurrency=1, wait_seconds=0)
    for body in ("good", "bad"):
        sqs.send_message(QueueUrl=url, MessageBody=body)
    poller.start()
    try:
        wait_until(lambda: len(handler.bodies) == 2, what="both messages handled")
    finally:
        assert poller.stop(timeout=10)
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert attributes["ApproximateNumberOfMessagesNotVisible"] == "1", "only the failed one is left"


def test_stop_gives_up_on_an_invocation_that_outlives_its_timeout(sqs, url):
    handler = HeldDispatcher()
    poller = SqsPoller(sqs, queue_url=url, handler=handler, batch_size=1, concurrency=1, wait_seconds=0)
    poller.start()
    sqs.send_message(QueueUrl=url, MessageBody="slow")
    wait_until(lambda: handler.in_flight == 1, what="the invocation to start")
    assert poller.stop(timeout=0.1) is False, "still running: stop says so instead of waiting"
    handler.release.set()
    assert poller.stop(timeout=10) is True


def test_a_stopped_poller_started_again_receives_what_arrived_meanwhile(sqs, url):
    handler = HeldDispatcher()
    handler.release.set()
    poller = SqsPoller(sqs, queue_url=url, handler=handler, batch_size=10, concurrency=1, wait_seconds=0)
    poller.start()
    sqs.send_message(QueueUrl=url, MessageBody="before")
    wait_until(lambda: handler.bodies == ["before"], what="the first message handled")
    assert poller.stop(timeout=10)
    sqs.send_message(QueueUrl=url, MessageBody="while stopped")
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
    assert attributes["Attributes"]["ApproximateNumberOfMessages"] == "1", "nothing received while stopped"
    poller.start()
    try:
        with pytest.raises(RuntimeError, match="already receiving"):
            poller.start()
        wait_until(lambda: handler.bodies == ["before", "while stopped"], what="the second message handled")
    finally:
        assert poller.stop(timeout=10)
