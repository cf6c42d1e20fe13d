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
        assert [m.body for m in queue._messages if m.visible and not m.delayed] == ["visible"]
        first = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=600)
        assert [m["Body"] for m in first["Messages"]] == ["visible"]
        sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=taken["ReceiptHandle"], VisibilityTimeout=0)
        again = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
        assert [m["Body"] for m in again["Messages"]] == ["in flight"]
    finally:
        sqs.delete_queue(QueueUrl=url)
