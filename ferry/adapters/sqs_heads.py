"""SqsHeldHeads: wakes paused queue heads (ChangeMessageVisibility to 0) when their queue resumes."""

from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger("ferry.queues")


class SqsHeldHeads:
    def __init__(self, client: Any) -> None:
        self._sqs = client

    def wake(self, queue_url: str, receipt_handle: str) -> None:
        try:
            self._sqs.change_message_visibility(
                QueueUrl=queue_url, ReceiptHandle=receipt_handle, VisibilityTimeout=0
            )
        except Exception as exc:  # the head may be gone (delivered, expired receipt): it shows anyway
            log.info("could not wake a held queue head: %s", type(exc).__name__)
