"""Reading a queue that many tests share (the SQS dead-letter queue) without depending on order."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


def find_in_queue(
    sqs: Any, queue_url: str, wanted: Callable[[dict[str, Any]], bool], *, timeout: float = 20.0
) -> list[dict[str, Any]]:
    """Receive until messages for which `wanted` is true turn up; they stay received (hidden) so the
    caller may delete them. Messages of other tests are hidden while searching, then put back."""
    others: list[str] = []
    found: list[dict[str, Any]] = []
    deadline = time.time() + timeout
    try:
        while not found and time.time() < deadline:
            batch = sqs.receive_message(
                QueueUrl=queue_url,
                MaxNumberOfMessages=10,
                VisibilityTimeout=60,
                WaitTimeSeconds=1,
                AttributeNames=["All"],
                MessageAttributeNames=["All"],
            ).get("Messages", [])
            for message in batch:
                if wanted(message):
                    found.append(message)
                else:
                    others.append(message["ReceiptHandle"])
            if not batch and not found:
                # Everything visible has been looked at: let the others show again and wait for ours.
                _release(sqs, queue_url, others)
                others.clear()
    finally:
        _release(sqs, queue_url, others)
    if not found:
        raise AssertionError(f"no matching message in {queue_url} within {timeout}s")
    return found


def release(sqs: Any, queue_url: str, messages: list[dict[str, Any]]) -> None:
    _release(sqs, queue_url, [m["ReceiptHandle"] for m in messages])


def _release(sqs: Any, queue_url: str, handles: list[str]) -> None:
    for handle in handles:
        sqs.change_message_visibility(QueueUrl=queue_url, ReceiptHandle=handle, VisibilityTimeout=0)


def attribute(message: dict[str, Any], name: str) -> str | None:
    return (message.get("MessageAttributes") or {}).get(name, {}).get("StringValue")
