"""The emulator deletes SQS messages in one pass over the queue (`ferry.dev.emulator_deletes`),
answering every receipt handle as moto does: current and earlier handles delete, a
handle deleted already succeeds again, one no message had is refused in moto's words, and no
other message is touched."""

from __future__ import annotations

import uuid

import boto3
import pytest
from botocore.exceptions import ClientError

pytestmark = pytest.mark.integration


@pytest.fixture
def queue(stack):
    sqs = boto3.client("sqs")
    url = sqs.create_queue(QueueName=f"ferry-deletes-{uuid.uuid4().hex[:12]}")["QueueUrl"]
    yield sqs, url
    sqs.delete_queue(QueueUrl=url)


def _receive_all(sqs, url: str, count: int, visibility: int = 600) -> list[dict]:
    got: list[dict] = []
    while len(got) < count:
        got += sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=visibility).get(
            "Messages", []
        )
    return got


def _bodies_left(sqs, url: str) -> list[str]:
    left = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0).get("Messages", [])
    return sorted(m["Body"] for m in left)


def test_a_batch_answers_each_kind_of_receipt_handle_as_moto_does(queue):
    sqs, url = queue
    for body in ("a", "b", "c", "d", "e"):
        sqs.send_message(QueueUrl=url, MessageBody=body)
    first = {m["Body"]: m["ReceiptHandle"] for m in _receive_all(sqs, url, 5, visibility=0)}
    # Received again: "b"'s first handle is now an earlier one, which still deletes it.
    again = {m["Body"]: m["ReceiptHandle"] for m in _receive_all(sqs, url, 5)}
    sqs.delete_message(QueueUrl=url, ReceiptHandle=again["e"])
    answer = sqs.delete_message_batch(
        QueueUrl=url,
        Entries=[
            {"Id": "current", "ReceiptHandle": again["a"]},
            {"Id": "earlier", "ReceiptHandle": first["b"]},
            {"Id": "deleted-before", "ReceiptHandle": again["e"]},
            {"Id": "unknown", "ReceiptHandle": "not-a-handle-anyone-had"},
        ],
    )
    assert sorted(e["Id"] for e in answer["Successful"]) == ["current", "deleted-before", "earlier"]
    [failed] = answer["Failed"]
    assert failed["Id"] == "unknown" and failed["Code"] == "ReceiptHandleIsInvalid" and failed["SenderFault"]
    assert "not a valid receipt handle" in failed["Message"]
    counts = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert (
        int(counts["ApproximateNumberOfMessages"]) + int(counts["ApproximateNumberOfMessagesNotVisible"]) == 2
    )
    sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=again["c"], VisibilityTimeout=0)
    sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=again["d"], VisibilityTimeout=0)
    assert _bodies_left(sqs, url) == ["c", "d"]


def test_a_single_delete_removes_only_its_message_and_refuses_an_unknown_handle(queue):
    sqs, url = queue
    for body in ("keep", "drop"):
        sqs.send_message(QueueUrl=url, MessageBody=body)
    handles = {m["Body"]: m["ReceiptHandle"] for m in _receive_all(sqs, url, 2, visibility=0)}
    sqs.delete_message(QueueUrl=url, ReceiptHandle=handles["drop"])
    sqs.delete_message(QueueUrl=url, ReceiptHandle=handles["drop"])  # again: moto says yes again
    with pytest.raises(ClientError) as refused:
        sqs.delete_message(QueueUrl=url, ReceiptHandle="not-a-handle-anyone-had")
    assert refused.value.response["Error"]["Code"] == "ReceiptHandleIsInvalid"
    assert _bodies_left(sqs, url) == ["keep"]


def test_a_delete_beside_messages_never_received_keeps_them_all(queue):
    # Messages never received have no handle; the walk passes over them without looking at any.
    sqs, url = queue
    sqs.send_message(QueueUrl=url, MessageBody="taken")
    [taken] = _receive_all(sqs, url, 1)
    for body in ("w1", "w2", "w3"):
        sqs.send_message(QueueUrl=url, MessageBody=body)
    answer = sqs.delete_message_batch(
        QueueUrl=url, Entries=[{"Id": "1", "ReceiptHandle": taken["ReceiptHandle"]}]
    )
    assert [e["Id"] for e in answer["Successful"]] == ["1"] and not answer.get("Failed")
    assert _bodies_left(sqs, url) == ["w1", "w2", "w3"]
