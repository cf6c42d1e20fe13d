"""What the delivery steps write: log events, dead letters and the callbacks QStash sends after
attempts. One place, so every step records an outcome the same way."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Sequence

from ferry.domain.callbacks import callback_envelope
from ferry.domain.delivery import AttemptResult
from ferry.domain.envelope import CallbackSpec, Envelope
from ferry.domain.history import LogEvent, State
from ferry.domain.limits import Limits
from ferry.usecases.delivery_pipeline import Delivery, DeliveryReport, Outcome
from ferry.usecases.ports import Clock, DeadLetter, History, MessageQueue

log = logging.getLogger("ferry.deliver")


def dlq_id_for(seed: str) -> str:
    return "dlq_" + hashlib.sha256(seed.encode()).hexdigest()[:24]


def event(
    envelope: Envelope,
    state: State,
    time_ms: int,
    retried: int,
    result: AttemptResult | None = None,
    *,
    error: str | None = None,
    next_delivery_ms: int | None = None,
    dlq_id: str | None = None,
) -> LogEvent:
    """A log event about `envelope`, with the attempt's response when there was one."""
    return LogEvent.of(
        envelope,
        state,
        time_ms,
        retried=retried,
        response_status=result.status if result else None,
        response_headers=dict(result.headers) if result else {},
        response_body=result.body if result else None,
        error=error,
        next_delivery_ms=next_delivery_ms,
        dlq_id=dlq_id,
    )


class DeliveryRecorder:
    def __init__(
        self,
        *,
        history: History,
        queue: MessageQueue,
        clock: Clock,
        new_id: Callable[[], str],
        default_timeout_seconds: int,
        limits: Limits,
    ) -> None:
        self._history = history
        self._queue = queue
        self._clock = clock
        self._new_id = new_id
        self._default_timeout = default_timeout_seconds
        self._limits = limits

    def created(self, envelope: Envelope, now_ms: int) -> None:
        """A new message (a schedule firing, a fan-out copy, a callback) enters the history."""
        self._history.message_created(
            envelope, event(envelope, State.CREATED, now_ms, 0, next_delivery_ms=envelope.not_before)
        )

    def schedule_fired(self, envelope: Envelope, now_ms: int) -> None:
        self._history.schedule_fired(envelope.schedule_id or "", envelope.id, now_ms)

    def dead_letter(
        self,
        delivery: Delivery,
        reason: str,
        result: AttemptResult,
        retried: int,
        events: Sequence[LogEvent] = (),
    ) -> DeliveryReport:
        """Move the message to the DLQ (API entry and SQS copy), log FAILED, send the failure callback."""
        message, envelope = delivery.message, delivery.envelope
        # Derived from the SQS receipt, so a crash and redelivery re-writes the same entry instead of
        # creating a second one that could be retried twice.
        dlq_id = dlq_id_for(f"{message.sqs_message_id}/{message.receive_count}")
        now_ms = int(self._clock.now() * 1000)
        # The DLQ entry (API) and the SQS DLQ copy (console redrive) both start with a fresh
        # retry budget: a retry or redrive is a normal delivery again.
        fresh = envelope.model_copy(update={"retried_offset": 0})
        self._history.put_dead_letter(
            DeadLetter(
                dlq_id=dlq_id,
                envelope=fresh,
                time_ms=now_ms,
                reason=reason,
                response_status=result.status,
                response_headers=dict(result.headers),
                response_body=result.body,
            )
        )
        self._queue.dead_letter(
            message,
            fresh.model_copy(update={"dlq_id": dlq_id}),
            reason=reason,
            dlq_id=dlq_id,
            response_status=result.status,
        )
        failed = event(envelope, State.FAILED, now_ms, retried, result, error=reason, dlq_id=dlq_id)
        self._history.record(envelope, [*events, failed])
        if envelope.failure_callback is not None:
            self.publish_callback(
                envelope, envelope.failure_callback, result, retried, "failure_callback", now_ms, dlq_id
            )
        return DeliveryReport(outcome=Outcome.DEAD_LETTERED, retried=retried, result=result, reason=reason)

    def callback_after_attempt(
        self, envelope: Envelope, result: AttemptResult, retried: int, now_ms: int
    ) -> None:
        # QStash calls the callback after every attempt, failed ones included.
        if envelope.callback is not None:
            self.publish_callback(envelope, envelope.callback, result, retried, "callback", now_ms)

    def publish_callback(
        self,
        envelope: Envelope,
        spec: CallbackSpec,
        result: AttemptResult,
        retried: int,
        kind: str,
        now_ms: int,
        dlq_id: str | None = None,
    ) -> None:
        # The attempt's outcome is already recorded: failing to publish its callback must not undo
        # it (a redelivery would call the destination again), so the failure is logged instead.
        try:
            callback = callback_envelope(
                envelope,
                spec,
                result,
                retried=retried,
                message_id=self._new_id(),
                now_ms=now_ms,
                kind=kind,
                default_timeout=self._default_timeout,
                dlq_id=dlq_id,
            )
            self.created(callback, now_ms)
            delay = min(spec.delay or 0, self._limits.max_sqs_delay_seconds)
            self._queue.send(callback, delay_seconds=delay)
        except Exception:
            log.exception("could not publish the %s of message %s", kind, envelope.id)
