"""The emulator deletes SQS messages in one pass over the queue, under the queue's lock.

moto deletes a receipt handle by walking the queue's messages twice (is it there? then keep the
others), rebuilding each message's list of receipt handles at every step, and a batch of ten
does that ten times. A dispatcher deletes what it delivered while the rest of its batches are
still in flight, so the queue holds every message in flight: a batch delete took 2 ms with
nothing else in the queue and 10 ms with 1,000 messages in flight (benchmarks/dev_throughput.py
measured ferry dev's deletes at 2.5 times the cost of the raw replay's, which deletes at once).

Here the handles of a call are deleted in one walk: a message goes when any handle it ever had is
among them, as in moto. Handles already deleted succeed again, as in moto; a handle no message
had goes to moto's own delete, so its refusal (and its wording) stays moto's. The lock is the
one moto's sends append under (deleting without it could drop a message sent meanwhile).
"""

from __future__ import annotations

import functools
from typing import Any


def _delete_matching(queue: Any, handles: set[str]) -> bool:
    """Remove the messages that ever had one of `handles`; whether any was removed."""
    if not handles:
        return False
    kept: list[Any] = []
    removed = False
    for message in queue._messages:
        if message.receipt_handle is None:
            # Never received (a backlog under load): no handle to match, and building its list
            # of handles for nothing was most of a delete's walk.
            kept.append(message)
            continue
        had = message.all_receipt_handles
        if handles.isdisjoint(had):
            kept.append(message)
            continue
        removed = True
        queue.pending_messages.discard(message)
        queue.deleted_messages.update(had)
    if removed:
        queue._messages = kept
    return removed


def delete_in_one_pass() -> None:
    """Idempotent; applied when the emulator starts."""
    import moto.sqs.models as sqs_models
    from moto.sqs.exceptions import ReceiptHandleIsInvalid

    if getattr(sqs_models.Queue, "_ferry_one_pass_delete", False):
        return

    def delete_message(self: Any, receipt_handle: str) -> None:
        with self._messages_lock:
            if receipt_handle in self.deleted_messages:
                return  # deleted already: moto answers success again
            if not _delete_matching(self, {receipt_handle}):
                raise ReceiptHandleIsInvalid()

    sqs_models.Queue.delete_message = delete_message
    sqs_models.Queue._ferry_one_pass_delete = True
    batch = sqs_models.SQSBackend.delete_message_batch

    @functools.wraps(batch)
    def delete_message_batch(
        self: Any, queue_name: str, receipts: list[dict[str, Any]]
    ) -> tuple[list[str], list[dict[str, str]]]:
        queue = self.get_queue(queue_name)
        with queue._messages_lock:
            _delete_matching(queue, {r["ReceiptHandle"] for r in receipts} - queue.deleted_messages)
            done: list[str] = []
            refused: list[dict[str, Any]] = []  # no message had these handles
            for receipt in receipts:
                if receipt["ReceiptHandle"] in queue.deleted_messages:
                    done.append(receipt["Id"])
                else:
                    refused.append(receipt)
            # moto's own delete refuses each in its own words.
            success, errors = batch(self, queue_name, refused) if refused else ([], [])
        return done + success, errors

    sqs_models.SQSBackend.delete_message_batch = delete_message_batch
