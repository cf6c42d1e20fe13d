"""The emulator lists a queue's visible messages with one clock reading per receive (`speed_up_moto`):
the same messages as moto's own `visible and not delayed`, so a receive still takes only messages
neither in flight nor delayed, and one made visible again."""

from __future__ import annotations

import uuid

import boto3
import pytest

pytestmark = pytest.mark.integration


def _queue(url: str):
    import moto.sqs.models as sqs_models

    return sqs_models.sqs_backends["123456789012"]["us-east-1"].queues[url.rsplit("/", 1)[-1]]


def test_a_receive_takes_only_messages_neither_in_flight_nor_delayed(stack):
    sqs = boto3.client("sqs")
    url = sqs.create_queue(QueueName=f"ferry-visibility-{uuid.uuid4().hex[:12]}")["QueueUrl"]
    try:
        sqs.send_message(QueueUrl=url, MessageBody="in flight")
        [taken] = sqs.receive_message(QueueUrl=url, VisibilityTimeout=600)["Messages"]
        sqs.send_message(QueueUrl=url, MessageBody="delayed", DelaySeconds=900)
        sqs.send_message(QueueUrl=url, MessageBody="visible")
        # The listing itself, beside moto's definition (its receive checks visibility again).
        queue = _queue(url)
        assert [m.body for m in queue.messages] == ["visible"]
        assert len(queue.messages) == 1 and queue.messages
        assert [m.body for m in queue._messages if m.visible and not m.delayed] == ["visible"]
        first = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=600)
        assert [m["Body"] for m in first["Messages"]] == ["visible"]
        sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=taken["ReceiptHandle"], VisibilityTimeout=0)
        again = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
        assert [m["Body"] for m in again["Messages"]] == ["in flight"]
    finally:
        sqs.delete_queue(QueueUrl=url)


def test_a_receive_takes_the_oldest_visible_messages_up_to_its_count_and_counts_stay_whole(stack):
    # The receive reads the queue lazily (it stops at its count); what it takes and what the
    # queue reports are moto's as before.
    sqs = boto3.client("sqs")
    url = sqs.create_queue(QueueName=f"ferry-visibility-{uuid.uuid4().hex[:12]}")["QueueUrl"]
    try:
        for i in range(15):
            sqs.send_message(QueueUrl=url, MessageBody=f"m{i}")
        first = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=4, VisibilityTimeout=600)["Messages"]
        assert [m["Body"] for m in first] == ["m0", "m1", "m2", "m3"]
        counts = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        assert (counts["ApproximateNumberOfMessages"], counts["ApproximateNumberOfMessagesNotVisible"]) == (
            "11",
            "4",
        )
        rest = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=600)["Messages"]
        assert [m["Body"] for m in rest] == [f"m{i}" for i in range(4, 14)]
        assert [m.body for m in _queue(url).messages] == ["m14"]
    finally:
        sqs.delete_queue(QueueUrl=url)
