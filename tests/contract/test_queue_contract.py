"""The MessageQueue port's contract: what InMemoryQueue and SqsQueue (on moto) both do, read back
the way the dispatcher's event source mapping reads them."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from ferry.adapters.memory.clock import ManualClock
from ferry.domain.envelope import Envelope
from ferry.usecases.ports import MessageQueue, QueuedMessage, ReceivedMessage


@dataclass
class Driver:
    queue: MessageQueue
    receive: Callable[[], list[QueuedMessage]]
    dead_lettered: Callable[[], list[tuple[Envelope, dict[str, str]]]]
    # (body, reason) of messages dead-lettered as they were received
    dead_lettered_raw: Callable[[], list[tuple[str, str]]]


def _memory(clock: ManualClock) -> Driver:
    from ferry.adapters.memory.queue import InMemoryQueue

    queue = InMemoryQueue(clock)

    def dead_lettered() -> list[tuple[Envelope, dict[str, str]]]:
        return [
            (d.envelope, {"ferry-dlq-id": d.dlq_id, "ferry-failure-reason": d.reason})
            for d in queue.dead_letters
        ]

    return Driver(queue, queue.receive, dead_lettered, lambda: list(queue.unreadable))


def _moto(aws) -> Driver:
    from ferry.adapters.sqs_queue import SqsQueue

    # Fresh queues per test (SQS allows one purge a minute), made like `ferry dev` makes them.
    prefix = "contract-" + uuid.uuid4().hex[:8]

    def create(name: str, fifo: bool) -> str:
        attributes = {"FifoQueue": "true"} if fifo else {}
        return aws.sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]

    urls = [create(prefix, False), create(prefix + ".fifo", True)]
    dlqs = [create(prefix + "-dlq", False), create(prefix + "-dlq.fifo", True)]
    queue = SqsQueue(
        aws.sqs,
        queue_url=urls[0],
        queue_dlq_url=dlqs[0],
        fifo_queue_url=urls[1],
        fifo_queue_dlq_url=dlqs[1],
    )

    def fetch(url: str) -> list[dict]:
        return aws.sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["All"], MessageAttributeNames=["All"]
        ).get("Messages", [])

    def receive() -> list[QueuedMessage]:
        return [
            QueuedMessage(
                envelope=Envelope.from_json(m["Body"]),
                receive_count=int(m["Attributes"]["ApproximateReceiveCount"]),
                receipt_handle=m["ReceiptHandle"],
                queue_url=url,
                sqs_message_id=m["MessageId"],
            )
            for url in urls
            for m in fetch(url)
        ]

    def dead_lettered() -> list[tuple[Envelope, dict[str, str]]]:
        return [
            (Envelope.from_json(m["Body"]), {k: v["StringValue"] for k, v in m["MessageAttributes"].items()})
            for url in dlqs
            for m in fetch(url)
        ]

    def dead_lettered_raw() -> list[tuple[str, str]]:
        return [
            (m["Body"], m["MessageAttributes"]["ferry-failure-reason"]["StringValue"])
            for url in dlqs
            for m in fetch(url)
        ]

    return Driver(queue, receive, dead_lettered, dead_lettered_raw)


@pytest.fixture
def driver(kind: str, clock: ManualClock, request: pytest.FixtureRequest) -> Driver:
    return _memory(clock) if kind == "memory" else _moto(request.getfixturevalue("aws"))


def envelope(**fields) -> Envelope:
    base = dict(
        id="msg_" + uuid.uuid4().hex, destination="https://x.example/", created_at=0, not_before=0,
        max_retries=3, timeout=30, body="hello",
    )  # fmt: skip
    return Envelope(**{**base, **fields})


def test_a_sent_message_is_received_once_with_its_envelope(driver):
    sent = envelope()
    driver.queue.send(sent, delay_seconds=0)
    [received] = driver.receive()
    assert received.envelope == sent and received.receive_count == 1
    assert not received.queue_url.endswith(".fifo")
    assert driver.receive() == []  # hidden while in flight


def test_a_message_of_a_named_queue_goes_to_the_fifo_queue(driver):
    sent = envelope(queue="orders")
    driver.queue.send(sent, delay_seconds=0)
    [received] = driver.receive()
    assert received.envelope == sent and received.queue_url.endswith(".fifo")


def test_a_message_sent_twice_to_a_named_queue_is_received_once(driver):
    # (A send repeated after a crash must not deliver the message twice.)
    sent = envelope(queue="orders")
    driver.queue.send(sent, delay_seconds=0)
    driver.queue.send(sent, delay_seconds=0)
    assert [m.envelope.id for m in driver.receive()] == [sent.id]


def test_a_delayed_message_is_not_received_before_its_delay(driver):
    driver.queue.send(envelope(), delay_seconds=60)
    assert driver.receive() == []


def test_retry_later_hides_the_received_message_and_it_returns_with_a_higher_count(driver):
    driver.queue.send(envelope(), delay_seconds=0)
    [first] = driver.receive()
    driver.queue.retry_later(first, delay_seconds=600)
    assert driver.receive() == []
    driver.queue.retry_later(first, delay_seconds=0)
    [again] = driver.receive()
    assert again.sqs_message_id == first.sqs_message_id and again.receive_count == 2


def test_a_dead_lettered_message_lands_in_the_dlq_with_its_reason_and_id(driver):
    sent = envelope()
    driver.queue.send(sent, delay_seconds=0)
    [received] = driver.receive()
    marked = sent.model_copy(update={"dlq_id": "dlq_1"})
    driver.queue.dead_letter(
        received, marked, reason="retries exhausted", dlq_id="dlq_1", response_status=500
    )
    [(copy, attributes)] = driver.dead_lettered()
    assert copy == marked
    assert attributes["ferry-dlq-id"] == "dlq_1"
    assert attributes["ferry-failure-reason"] == "retries exhausted"


def test_a_message_dead_lettered_as_received_keeps_its_body_and_gets_the_reason(driver):
    driver.queue.send(envelope(), delay_seconds=0)
    [received] = driver.receive()
    raw = ReceivedMessage(
        body="not an envelope", receive_count=1, receipt_handle=received.receipt_handle,
        queue_url=received.queue_url, sqs_message_id=received.sqs_message_id,
    )  # fmt: skip
    driver.queue.dead_letter_unreadable(raw, reason="unreadable")
    assert driver.dead_lettered_raw() == [("not an envelope", "unreadable")]
