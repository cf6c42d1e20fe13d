"""Deliver one queued message: sign, call the destination, then deliver / retry / dead-letter.

Retries ride on SQS itself: a failed attempt hides the received message for the backoff delay
(ChangeMessageVisibility) and reports it as a batch item failure, so SQS redelivers it with a
higher ApproximateReceiveCount — which is how we count attempts without rewriting the message.
Delays longer than SQS can hide a message re-enqueue it instead ("hops").
"""

from __future__ import annotations

import math
import secrets
from dataclasses import dataclass
from enum import StrEnum

from ferry.domain.delivery import AttemptResult, Delivered, GiveUp, RetryLater, build_request, decide
from ferry.domain.history import LogEvent, State
from ferry.usecases.ports import Clock, History, HttpTarget, MessageQueue, QueuedMessage, SigningKeys

# SQS limits: how long a received message can be hidden, and how long a send can be delayed.
MAX_VISIBILITY_SECONDS = 43_200
MAX_SEND_DELAY_SECONDS = 900
# A message arriving this early is treated as due (SQS delays have one-second granularity).
DUE_TOLERANCE_MS = 1_000


class Outcome(StrEnum):
    DELIVERED = "delivered"
    # Hidden in the queue until the next attempt: the record must be reported as failed.
    RETRY_SCHEDULED = "retry_scheduled"
    # Re-enqueued as a new SQS message (long delay or backoff): the received one is done.
    REQUEUED = "requeued"
    DEAD_LETTERED = "dead_lettered"


@dataclass(frozen=True)
class DeliveryReport:
    outcome: Outcome
    retried: int
    result: AttemptResult | None = None
    reason: str | None = None


def new_dlq_id() -> str:
    return "dlq_" + secrets.token_hex(12)


class DeliverMessage:
    def __init__(
        self,
        *,
        target: HttpTarget,
        keys: SigningKeys,
        history: History,
        queue: MessageQueue,
        clock: Clock,
        jwt_lifetime_seconds: int = 300,
    ) -> None:
        self._target = target
        self._keys = keys
        self._history = history
        self._queue = queue
        self._clock = clock
        self._jwt_lifetime = jwt_lifetime_seconds

    def __call__(self, message: QueuedMessage) -> DeliveryReport:
        envelope = message.envelope
        now = self._clock.now()
        now_ms = int(now * 1000)
        retried = envelope.retried_offset + max(message.receive_count - 1, 0)

        if envelope.not_before > now_ms + DUE_TOLERANCE_MS:
            # Not due yet (a delay longer than one SQS hop): send it on for the remaining time.
            # Re-enqueuing keeps ApproximateReceiveCount honest; it only counts real attempts.
            remaining = math.ceil((envelope.not_before - now_ms) / 1000)
            hop = envelope.model_copy(update={"retried_offset": retried})
            self._queue.send(hop, delay_seconds=min(remaining, MAX_SEND_DELAY_SECONDS))
            return DeliveryReport(outcome=Outcome.REQUEUED, retried=retried)

        request = build_request(
            envelope,
            retried=retried,
            signing_key=self._keys.current(),
            now=now,
            jwt_lifetime_seconds=self._jwt_lifetime,
        )
        result = self._target.send(request)
        finished = self._clock.now()
        decision = decide(envelope, retried=retried, result=result, now=finished)

        active = self._event(envelope, State.ACTIVE, result.started_at_ms or now_ms, retried)
        if isinstance(decision, Delivered):
            delivered = self._event(
                envelope, State.DELIVERED, result.finished_at_ms or now_ms, retried, result
            )
            self._history.record(envelope, [active, delivered])
            return DeliveryReport(outcome=Outcome.DELIVERED, retried=retried, result=result)

        error = self._event(
            envelope, State.ERROR, result.finished_at_ms or now_ms, retried, result, error=result.describe()
        )
        if isinstance(decision, GiveUp):
            dlq_id = new_dlq_id()
            # The dead-lettered copy starts with a fresh retry budget: a redrive from the DLQ (API
            # or the AWS console's "start DLQ redrive") is a normal delivery again.
            fresh = envelope.model_copy(update={"retried_offset": 0})
            self._queue.dead_letter(
                message, fresh, reason=decision.reason, dlq_id=dlq_id, response_status=result.status
            )
            failed = self._event(
                envelope,
                State.FAILED,
                int(finished * 1000),
                retried,
                result,
                error=decision.reason,
                dlq_id=dlq_id,
            )
            self._history.record(envelope, [active, error, failed])
            return DeliveryReport(
                outcome=Outcome.DEAD_LETTERED, retried=retried, result=result, reason=decision.reason
            )

        assert isinstance(decision, RetryLater)
        delay = max(0, math.ceil(decision.delay_seconds))
        next_ms = int(finished * 1000) + delay * 1000
        retry = self._event(envelope, State.RETRY, int(finished * 1000), retried, next_delivery_ms=next_ms)
        self._history.record(envelope, [active, error, retry])
        if delay <= MAX_VISIBILITY_SECONDS:
            self._queue.retry_later(message, delay_seconds=delay)
            return DeliveryReport(outcome=Outcome.RETRY_SCHEDULED, retried=retried, result=result)
        hop = envelope.model_copy(update={"retried_offset": retried + 1, "not_before": next_ms})
        self._queue.send(hop, delay_seconds=MAX_SEND_DELAY_SECONDS)
        return DeliveryReport(outcome=Outcome.REQUEUED, retried=retried, result=result)

    @staticmethod
    def _event(
        envelope,
        state: State,
        time_ms: int,
        retried: int,
        result: AttemptResult | None = None,
        *,
        error: str | None = None,
        next_delivery_ms: int | None = None,
        dlq_id: str | None = None,
    ) -> LogEvent:
        return LogEvent(
            message_id=envelope.id,
            state=state,
            time_ms=time_ms,
            url=envelope.destination,
            retried=retried,
            response_status=result.status if result else None,
            response_headers=dict(result.headers) if result else {},
            response_body=result.body if result else None,
            error=error,
            next_delivery_ms=next_delivery_ms,
            dlq_id=dlq_id,
            labels=envelope.labels,
            queue=envelope.queue,
            schedule_id=envelope.schedule_id,
        )
