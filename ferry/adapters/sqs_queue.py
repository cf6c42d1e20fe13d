"""SqsQueue: the message queues (standard and FIFO) and their dead-letter queues."""

from __future__ import annotations

from typing import Any

from ferry.domain.envelope import Envelope
from ferry.domain.limits import SQS_MAX_DELAY_SECONDS
from ferry.usecases.ports import QueuedMessage, ReceivedMessage

# Message attributes on dead-lettered messages: the reason is visible in the SQS console too.
ATTR_REASON = "ferry-failure-reason"
ATTR_STATUS = "ferry-response-status"
ATTR_DLQ_ID = "ferry-dlq-id"
ATTR_MESSAGE_ID = "ferry-message-id"


def _queue_name(url_or_arn: str) -> str:
    return url_or_arn.rstrip("/").rsplit("/", 1)[-1].rsplit(":", 1)[-1]


class SqsQueue:
    def __init__(
        self, client: Any, *, queue_url: str, queue_dlq_url: str, fifo_queue_url: str, fifo_queue_dlq_url: str
    ) -> None:
        self._sqs = client
        self.queue_url = queue_url
        self.fifo_queue_url = fifo_queue_url
        self._dlq_of = {queue_url: queue_dlq_url, fifo_queue_url: fifo_queue_dlq_url}
        self._url_by_name = {
            _queue_name(u): u for u in (queue_url, queue_dlq_url, fifo_queue_url, fifo_queue_dlq_url)
        }

    def url_for(self, source: str) -> str:
        """Queue URL for an event source ARN (or URL) of one of our queues."""
        return self._url_by_name[_queue_name(source)]

    def send(self, envelope: Envelope, *, delay_seconds: int) -> None:
        params: dict[str, Any] = {
            "MessageBody": envelope.to_json(),
            "MessageAttributes": {ATTR_MESSAGE_ID: {"DataType": "String", "StringValue": envelope.id}},
        }
        if envelope.queue:
            # Named queues: FIFO, one message group per queue, so a queue delivers one message at a
            # time in order. Dedup is Ferry's own (DynamoDB), so every send gets a unique id.
            params.update(
                QueueUrl=self.fifo_queue_url,
                MessageGroupId=envelope.queue,
                # The message id: a send repeated after a crash (within SQS's 5-minute window) is
                # dropped by SQS instead of delivered twice.
                MessageDeduplicationId=envelope.id,
            )
        else:
            params.update(
                QueueUrl=self.queue_url, DelaySeconds=max(0, min(delay_seconds, SQS_MAX_DELAY_SECONDS))
            )
        self._sqs.send_message(**params)

    def retry_later(self, message: QueuedMessage, *, delay_seconds: int) -> None:
        self._sqs.change_message_visibility(
            QueueUrl=message.queue_url, ReceiptHandle=message.receipt_handle, VisibilityTimeout=delay_seconds
        )

    def dead_letter(
        self,
        message: QueuedMessage,
        envelope: Envelope,
        *,
        reason: str,
        dlq_id: str,
        response_status: int | None,
    ) -> None:
        dlq_url = self._dlq_of[message.queue_url]
        attributes = {
            ATTR_MESSAGE_ID: {"DataType": "String", "StringValue": envelope.id},
            ATTR_DLQ_ID: {"DataType": "String", "StringValue": dlq_id},
            ATTR_REASON: {"DataType": "String", "StringValue": reason[:1000]},
        }
        if response_status is not None:
            attributes[ATTR_STATUS] = {"DataType": "Number", "StringValue": str(response_status)}
        params: dict[str, Any] = {
            "QueueUrl": dlq_url,
            "MessageBody": envelope.to_json(),
            "MessageAttributes": attributes,
        }
        if dlq_url.endswith(".fifo"):
            params["MessageGroupId"] = envelope.queue or envelope.id
            params["MessageDeduplicationId"] = dlq_id
        self._sqs.send_message(**params)

    def dead_letter_unreadable(self, message: ReceivedMessage, *, reason: str) -> None:
        dlq_url = self._dlq_of[message.queue_url]
        params: dict[str, Any] = {
            "QueueUrl": dlq_url,
            "MessageBody": message.body,
            "MessageAttributes": {ATTR_REASON: {"DataType": "String", "StringValue": reason[:1000]}},
        }
        if dlq_url.endswith(".fifo"):
            params["MessageGroupId"] = params["MessageDeduplicationId"] = message.sqs_message_id
        self._sqs.send_message(**params)
