"""The HeldHeads port's contract (`ferry.usecases.queues.HeldHeads`): InMemoryHeldHeads and
SqsHeldHeads (on moto) wake a hidden queue head so the next receive sees it, and waking a head
that is gone does nothing (no error reaches the resume)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from ferry.adapters.memory.clock import ManualClock
from ferry.usecases.queues import HeldHeads


@dataclass
class Side:
    heads: HeldHeads
    send: Callable[[str], None]
    # (body, receipt handle, queue url) of the messages visible now, each hidden by the receive
    receive: Callable[[], list[tuple[str, str, str]]]
    delete: Callable[[str, str], None]


@pytest.fixture
def side(kind: str, clock: ManualClock, request: pytest.FixtureRequest) -> Side:
    if kind == "memory":
        from ferry.adapters.memory.queue import InMemoryHeldHeads, InMemoryQueue

        queue = InMemoryQueue(clock)

        in_flight = {}

        def receive() -> list[tuple[str, str, str]]:
            received = queue.receive_raw()
            in_flight.update((m.receipt_handle, m) for m in received)
            return [(m.body, m.receipt_handle, m.queue_url) for m in received]

        def delete(queue_url: str, receipt_handle: str) -> None:
            queue.delete(in_flight[receipt_handle])

        return Side(InMemoryHeldHeads(queue), lambda body: queue.send_raw(body), receive, delete)

    from ferry.adapters.sqs_heads import SqsHeldHeads

    sqs = request.getfixturevalue("aws").sqs
    # A queue of its own with the dispatcher queue's long visibility, so a hidden head stays hidden.
    url = sqs.create_queue(
        QueueName="heads-" + uuid.uuid4().hex[:8], Attributes={"VisibilityTimeout": "1980"}
    )["QueueUrl"]

    def receive_sqs() -> list[tuple[str, str, str]]:
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        return [(m["Body"], m["ReceiptHandle"], url) for m in messages]

    return Side(
        SqsHeldHeads(sqs),
        lambda body: sqs.send_message(QueueUrl=url, MessageBody=body),
        receive_sqs,
        lambda queue_url, receipt: sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=receipt),
    )


def test_a_received_head_stays_hidden_until_it_is_woken_then_the_next_receive_sees_it(side: Side):
    side.send("head")
    [(body, receipt, url)] = side.receive()
    assert body == "head"
    assert side.receive() == [], "a received message is hidden for the visibility timeout"

    side.heads.wake(url, receipt)

    assert [body for body, _, _ in side.receive()] == ["head"]


def test_waking_only_shows_the_woken_head_not_the_other_hidden_ones(side: Side):
    side.send("first")
    side.send("second")
    received = {body: (receipt, url) for body, receipt, url in side.receive()}
    assert set(received) == {"first", "second"}

    side.heads.wake(received["second"][1], received["second"][0])

    assert [body for body, _, _ in side.receive()] == ["second"]


def test_waking_a_head_that_was_deleted_does_nothing_and_raises_nothing(side: Side):
    side.send("delivered")
    [(_, receipt, url)] = side.receive()
    side.delete(url, receipt)

    side.heads.wake(url, receipt)

    assert side.receive() == []
