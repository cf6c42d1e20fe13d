"""A stand-in for Lambda's SQS event source mapping: receive a batch, call the real dispatcher
handler with a Lambda-shaped SQS event, delete what it did not report in `batchItemFailures`.

Semantics kept from the real thing: batches of up to `batch_size`, partial batch responses,
several batches in flight at once (`concurrency` workers), and when the handler raises, nothing
is deleted (the whole batch comes back after the visibility timeout).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from ferry.dev.lambda_context import DevLambdaContext

log = logging.getLogger("ferry.dev")
Handler = Callable[[dict[str, Any], Any], dict[str, Any]]


def to_sqs_event(messages: list[dict[str, Any]], queue_arn: str, region: str) -> dict[str, Any]:
    records = []
    for m in messages:
        attributes = m.get("MessageAttributes") or {}
        records.append(
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": m.get("Attributes") or {},
                "messageAttributes": {
                    name: {
                        "stringValue": value.get("StringValue"),
                        "binaryValue": value.get("BinaryValue"),
                        "stringListValues": [],
                        "binaryListValues": [],
                        "dataType": value["DataType"],
                    }
                    for name, value in attributes.items()
                },
                "md5OfBody": m.get("MD5OfBody"),
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": region,
            }
        )
    return {"Records": records}


class SqsPoller:
    def __init__(
        self,
        sqs: Any,
        *,
        queue_url: str,
        handler: Handler,
        batch_size: int = 10,
        concurrency: int = 2,
        wait_seconds: int = 1,
        region: str = "us-east-1",
    ) -> None:
        self._sqs = sqs
        self._queue_url = queue_url
        self._handler = handler
        self._batch_size = batch_size
        self._wait = wait_seconds
        self._region = region
        self._stop = threading.Event()
        self._arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        name = queue_url.rsplit("/", 1)[-1]
        self._threads = [
            threading.Thread(target=self._run, name=f"poller-{name}-{i}", daemon=True)
            for i in range(concurrency)
        ]

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=self._wait + 30)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.poll_once()
            except Exception:  # keep polling, as the real event source mapping does
                log.exception("poller error on %s", self._queue_url)
                self._stop.wait(1)

    def poll_once(self) -> int:
        response = self._sqs.receive_message(
            QueueUrl=self._queue_url,
            # SQS hands out at most 10 per receive (the event source mapping gathers bigger
            # batches over its batching window; here each receive is one batch).
            MaxNumberOfMessages=min(self._batch_size, 10),
            WaitTimeSeconds=self._wait,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        messages = response.get("Messages") or []
        if not messages:
            return 0
        event = to_sqs_event(messages, self._arn, self._region)
        try:
            result = self._handler(event, DevLambdaContext("ferry-dispatcher")) or {}
        except Exception:
            log.exception("dispatcher handler raised; the batch returns after the visibility timeout")
            return len(messages)
        failed = {item["itemIdentifier"] for item in result.get("batchItemFailures") or []}
        done = [m for m in messages if m["MessageId"] not in failed]
        for start in range(0, len(done), 10):
            self._sqs.delete_message_batch(
                QueueUrl=self._queue_url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                    for i, m in enumerate(done[start : start + 10])
                ],
            )
        return len(messages)
