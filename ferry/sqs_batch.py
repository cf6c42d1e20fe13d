"""The dispatcher's SQS batch: powertools batch processing around the DeliverMessage use case.

Standard queues: every record of the batch is delivered concurrently (up to the configured
in-invocation concurrency, by default one worker thread per record, so a slow destination never
holds up the others). FIFO queues: records are delivered in
order per message group, and a group stops at its first failure so order is kept.
A record whose retry was scheduled (visibility changed) is reported in `batchItemFailures`;
everything else is done and gets deleted by the event source mapping.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    SqsFifoPartialProcessor,
    process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from ferry.domain.envelope import Envelope
from ferry.usecases.deliver_message import DeliveryReport, Outcome
from ferry.usecases.ports import ReceivedMessage
from ferry.wiring import Services, services

logger = Logger(service="ferry")
# One pool per size: a process runs one deployment's size in Lambda, but a test session may run
# several `ferry dev` stacks one after another, and a pool sized for the first must not cap the next.
_executors: dict[int, ThreadPoolExecutor] = {}
_executor_lock = threading.Lock()


class ThreadedBatchProcessor(BatchProcessor):
    """powertools' BatchProcessor (its per-record success and failure handling, its partial
    response) with the records run at once on a thread pool. Its AsyncBatchProcessor does the
    same through an asyncio loop built per invocation and woken once per record from the pool:
    about 1.5 ms of CPU per message under load in `ferry dev`, more than the rest of an
    invocation's own work."""

    def __init__(self, pool: ThreadPoolExecutor, event_type: EventType) -> None:
        super().__init__(event_type=event_type, raise_on_entire_batch_failure=False)
        self._pool = pool

    def process(self) -> list[tuple]:
        # `_process_record` catches what the handler raises; the lists it appends to are safe
        # to append to from many threads.
        return list(self._pool.map(self._process_record, self.records))


class RetryScheduled(Exception):
    """Not an error: tells the batch processor to leave this record in the queue for its retry."""


class OutcomeCounts:
    """How many records of one invocation ended in each outcome (reported as metrics). One per
    invocation, so concurrent invocations in one process (`ferry dev`) never mix their counts."""

    def __init__(self) -> None:
        self._counts: Counter[str] = Counter()
        self._lock = threading.Lock()

    def add(self, outcome: Outcome) -> None:
        with self._lock:
            self._counts[str(outcome)] += 1

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return dict(self._counts)


def deliver_record(
    record: SQSRecord, *, svc: Services | None = None, counts: OutcomeCounts | None = None
) -> DeliveryReport:
    try:
        return _deliver_record(record, svc or services(), counts or OutcomeCounts())
    except RetryScheduled:
        raise
    except Exception:
        # The batch processor reports the record as failed (SQS redelivers it); say why, loudly:
        # a missing permission or an unreachable table must not fail silently.
        logger.exception("delivery failed unexpectedly", extra={"sqs_message_id": record.message_id})
        raise


def _deliver_record(record: SQSRecord, svc: Services, counts: OutcomeCounts) -> DeliveryReport:
    message = ReceivedMessage(
        body=record.body,
        receive_count=int(record.attributes.approximate_receive_count),
        receipt_handle=record.receipt_handle,
        queue_url=svc.queue.url_for(record.event_source_arn),
        sqs_message_id=record.message_id,
    )
    report = svc.deliver.received(message)
    envelope = report.envelope
    fields: dict[str, Any] = {
        "message_id": envelope.id if envelope else None,
        "sqs_message_id": record.message_id,
        "outcome": str(report.outcome),
        "retried": report.retried,
        "status": report.result.status if report.result else None,
        "reason": report.reason,
    }
    if svc.settings.log_bodies and envelope is not None:
        fields.update(logged_bodies(envelope, report))
    logger.info("delivery attempt", extra=fields)
    counts.add(report.outcome)
    if report.keeps_message_in_queue:
        raise RetryScheduled(record.message_id)
    return report


LOGGED_BODY_BYTES = 1_024


def logged_bodies(envelope: Envelope, report: DeliveryReport) -> dict[str, str]:
    """Opt-in (FERRY_LOG_BODIES=true) debugging aid: the first KB of the message body and of the
    destination's answer. A body the publisher redacted (Upstash-Redact-Fields) is never logged."""
    if envelope.redact is not None and envelope.redact.body:
        return {"body": "REDACTED"}
    try:
        body = envelope.body_bytes()[:LOGGED_BODY_BYTES].decode("utf-8", "replace")
    except ValueError:  # a stored base64 body that is not base64 (the Attempt step dead-lettered it)
        body = "<not decodable>"
    fields = {"body": body}
    if report.result is not None:
        fields["response_body"] = report.result.body[:LOGGED_BODY_BYTES].decode("utf-8", "replace")
    return fields


def _delivery_pool(svc: Services) -> ThreadPoolExecutor:
    """The worker threads of this execution environment, as many as the deployment's in-invocation
    concurrency (built on the first invocation, when the settings are known)."""
    workers = svc.settings.dispatcher_concurrency
    with _executor_lock:
        if workers not in _executors:
            _executors[workers] = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="deliver")
        return _executors[workers]


def handle(
    event: dict[str, Any], context: Any, metrics: Any = None, svc: Services | None = None
) -> dict[str, Any]:
    svc = svc or services()
    counts = OutcomeCounts()

    def record_handler(record: SQSRecord) -> DeliveryReport:
        return deliver_record(record, svc=svc, counts=counts)

    try:
        return _process(event, context, record_handler, _delivery_pool(svc))
    finally:
        if metrics is not None:
            for outcome, count in counts.snapshot().items():
                metrics.add_metric(name=f"Messages_{outcome}", unit=MetricUnit.Count, value=count)


def _process(
    event: dict[str, Any],
    context: Any,
    record_handler: Callable[[SQSRecord], DeliveryReport],
    pool: ThreadPoolExecutor,
) -> dict[str, Any]:
    records = event.get("Records") or []
    # A batch whose every record is waiting for a retry is normal, not an invocation error: an
    # error would make the event source mapping back off and count as a failed invocation.
    if records and records[0].get("eventSourceARN", "").endswith(".fifo"):
        fifo = SqsFifoPartialProcessor(skip_group_on_error=True)
        fifo.raise_on_entire_batch_failure = False
        return process_partial_response(
            event=event, record_handler=record_handler, processor=fifo, context=context
        )

    return process_partial_response(
        event=event,
        record_handler=record_handler,
        processor=ThreadedBatchProcessor(pool, EventType.SQS),
        context=context,
    )
