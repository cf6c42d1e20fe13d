"""Deliver one queued message: sign, call the destination, then deliver / retry / dead-letter.

Retries ride on SQS itself: a failed attempt hides the received message for the backoff delay
(ChangeMessageVisibility) and reports it as a batch item failure, so SQS redelivers it with a
higher ApproximateReceiveCount — which is how we count attempts without rewriting the message.
Delays longer than SQS can hide a message re-enqueue it instead ("hops").

Every message ends in exactly one terminal state: DELIVERED, FAILED (in the DLQ) or CANCELED.
"""

from __future__ import annotations

import hashlib
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from ferry.domain.callbacks import callback_envelope
from ferry.domain.delivery import AttemptResult, Delivered, GiveUp, RetryLater, build_request, decide
from ferry.domain.envelope import CallbackSpec, Envelope
from ferry.domain.errors import NotFound
from ferry.domain.history import TERMINAL_STATES, LogEvent, State
from ferry.usecases.flow_control_gate import Admitted, Held, LimitGate
from ferry.usecases.ports import (
    Clock,
    DeadLetter,
    GroupEndpoints,
    History,
    HttpTarget,
    MessageQueue,
    QueuedMessage,
    SigningKeys,
)
from ferry.usecases.publish_message import new_message_id

# SQS limits: how long a received message can be hidden (12 h counted from its receipt, so keep a
# margin for the time spent delivering), and how long a send can be delayed.
MAX_VISIBILITY_SECONDS = 43_200 - 600
MAX_SEND_DELAY_SECONDS = 900
log = logging.getLogger("ferry.deliver")
# A message arriving this early is treated as due (SQS delays have one-second granularity).
DUE_TOLERANCE_MS = 1_000


class Outcome(StrEnum):
    DELIVERED = "delivered"
    # Hidden in the queue until the next attempt: the record must be reported as failed.
    RETRY_SCHEDULED = "retry_scheduled"
    # Re-enqueued as a new SQS message (long delay or backoff): the received one is done.
    REQUEUED = "requeued"
    DEAD_LETTERED = "dead_lettered"
    CANCELED = "canceled"
    # A console redrive of a DLQ entry that was already retried or deleted through the API.
    DROPPED = "dropped"


@dataclass(frozen=True)
class DeliveryReport:
    outcome: Outcome
    retried: int
    result: AttemptResult | None = None
    reason: str | None = None


def _dlq_id(seed: str) -> str:
    return "dlq_" + hashlib.sha256(seed.encode()).hexdigest()[:24]


def _firing_id(seed: str) -> str:
    return "msg_" + hashlib.sha256(seed.encode()).hexdigest()[:32]


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
        default_timeout_seconds: int = 300,
        groups: GroupEndpoints | None = None,
        new_id: Callable[[], str] = new_message_id,
        gate: LimitGate | None = None,
    ) -> None:
        self._gate = gate
        self._groups = groups
        self._target = target
        self._keys = keys
        self._history = history
        self._queue = queue
        self._clock = clock
        self._jwt_lifetime = jwt_lifetime_seconds
        self._default_timeout = default_timeout_seconds
        self._new_id = new_id

    def __call__(self, message: QueuedMessage) -> DeliveryReport:
        envelope = message.envelope
        now = self._clock.now()
        now_ms = int(now * 1000)
        retried = envelope.retried_offset + max(message.receive_count - 1, 0)

        if envelope.is_schedule_template and envelope.url_group and not envelope.destination:
            return self._fan_out_firing(message, envelope, now_ms)
        if envelope.is_schedule_template:
            # One firing of a schedule: it becomes a message of its own. The id derives from the
            # SQS message id, so retries of this firing keep it.
            envelope = envelope.materialize(message_id=_firing_id(message.sqs_message_id), now_ms=now_ms)
            if message.receive_count <= 1 or self._history.get_envelope(envelope.id) is None:
                # (Also after a crash that came before this write: the message must be known.)
                created = self._event(
                    envelope, State.CREATED, now_ms, 0, next_delivery_ms=envelope.not_before
                )
                self._history.message_created(envelope, created)
                self._history.schedule_fired(envelope.schedule_id or "", envelope.id, now_ms)
            if envelope.queue:
                # Scheduler sends to the standard queue; a queue's firing joins its FIFO lane here.
                if self._gate is not None:
                    envelope = self._gate.admit(envelope)
                self._queue.send(envelope, delay_seconds=0)
                return DeliveryReport(outcome=Outcome.REQUEUED, retried=0)

        if envelope.dlq_id is not None:
            # Moved back from the DLQ by the AWS console (StartMessageMoveTask): claim the DLQ
            # entry so an API retry or delete of the same entry cannot also deliver it.
            if self._history.take_dead_letter(envelope.dlq_id) is None:
                return DeliveryReport(outcome=Outcome.DROPPED, retried=retried)
            # The claimed message goes back on the queue without its dlq_id: its retries (which
            # re-receive the same SQS message) must not find the entry gone and drop it.
            clean = envelope.model_copy(update={"dlq_id": None, "retried_offset": 0})
            self._queue.send(clean, delay_seconds=0)
            self._history.record(clean, [self._event(clean, State.CREATED, now_ms, 0)])
            return DeliveryReport(outcome=Outcome.REQUEUED, retried=0)

        if self._history.cancel_requested(envelope.id):
            self._history.record(envelope, [self._event(envelope, State.CANCELED, now_ms, retried)])
            return DeliveryReport(outcome=Outcome.CANCELED, retried=retried)

        if envelope.not_before > now_ms + DUE_TOLERANCE_MS:
            # Not due yet (a delay longer than one SQS hop): send it on for the remaining time.
            # Re-enqueuing keeps ApproximateReceiveCount honest; it only counts real attempts.
            # (Queue messages are never delayed: publish and schedules refuse a delay with a queue.)
            remaining = math.ceil((envelope.not_before - now_ms) / 1000)
            hop = envelope.model_copy(update={"retried_offset": retried})
            self._queue.send(hop, delay_seconds=min(remaining, MAX_SEND_DELAY_SECONDS))
            return DeliveryReport(outcome=Outcome.REQUEUED, retried=retried)

        if message.receive_count > 1 and self._history.state(envelope.id) in TERMINAL_STATES:
            # Received again after its outcome was recorded: the invocation that delivered it
            # crashed or timed out before SQS deleted it (e.g. a slow batch-mate). Not again.
            return DeliveryReport(outcome=Outcome.DROPPED, retried=retried)
        # --- limits (queues, flow control): take a slot or wait without spending an attempt ---
        admitted = Admitted()
        if self._gate is not None and self._gate.applies(envelope):
            entry = self._gate.enter(message, envelope, retried=retried)
            if isinstance(entry, Held):
                return self._hold(message, envelope, retried, entry)
            admitted = entry
            retried -= entry.held_receives
        released: list[bool] = []

        def release(result: AttemptResult | None = None) -> None:
            # Once per attempt, and as soon as the answer is in: the next message may start.
            if self._gate is not None and admitted.leases and not released:
                released.append(True)
                self._gate.leave(admitted, result)

        try:
            return self._attempt(message, envelope, retried, now, now_ms, release)
        finally:
            release()

    def _hold(self, message: QueuedMessage, envelope: Envelope, retried: int, held: Held) -> DeliveryReport:
        """Not now (queue paused or full, key at its limit, backpressure): a FIFO head is hidden and
        keeps its place (the gate counted the receive as held, not as an attempt); any other message
        goes back on the queue with its attempts carried in `retried_offset`."""
        seconds = max(1, math.ceil(held.seconds))
        reason = f"held: {held.reason}"
        if envelope.queue:
            self._queue.retry_later(message, delay_seconds=min(seconds, MAX_VISIBILITY_SECONDS))
            return DeliveryReport(outcome=Outcome.RETRY_SCHEDULED, retried=retried, reason=reason)
        hop = envelope.model_copy(update={"retried_offset": retried})
        self._queue.send(hop, delay_seconds=min(seconds, MAX_SEND_DELAY_SECONDS))
        return DeliveryReport(outcome=Outcome.REQUEUED, retried=retried, reason=reason)

    def _attempt(
        self,
        message: QueuedMessage,
        envelope: Envelope,
        retried: int,
        now: float,
        now_ms: int,
        release: Callable[[AttemptResult | None], None],
    ) -> DeliveryReport:
        if retried > envelope.max_retries:
            # More receives than the retry budget explains: earlier receives ended without an
            # outcome (the dispatcher crashed or timed out on this message or a batch-mate, or the
            # invocation was throttled). Dead-letter it here, with history and failure callback,
            # before SQS's redrive policy moves it silently.
            unfinished = AttemptResult(status=None, error="no outcome recorded", finished_at_ms=now_ms)
            reason = (
                f"the dispatcher did not finish {retried - envelope.max_retries} attempt(s) of this "
                "message (Lambda crash, timeout or throttling); dead-lettered instead of trying again"
            )
            return self._dead_letter(message, envelope, reason, unfinished, envelope.max_retries, [])

        request = build_request(
            envelope,
            retried=retried,
            signing_key=self._keys.current(),
            now=now,
            jwt_lifetime_seconds=self._jwt_lifetime,
        )
        result = self._target.send(request)
        release(result)
        finished = self._clock.now()
        finished_ms = int(finished * 1000)
        decision = decide(envelope, retried=retried, result=result, now=finished)

        active = self._event(envelope, State.ACTIVE, now_ms, retried)
        if isinstance(decision, Delivered):
            delivered = self._event(envelope, State.DELIVERED, finished_ms, retried, result)
            self._history.record(envelope, [active, delivered])
            self._callback_after_attempt(envelope, result, retried, finished_ms)
            return DeliveryReport(outcome=Outcome.DELIVERED, retried=retried, result=result)
        # QStash calls the callback after every attempt, failed ones included.
        self._callback_after_attempt(envelope, result, retried, finished_ms)

        error = self._event(
            envelope,
            State.ERROR,
            finished_ms,
            retried,
            result,
            error=result.describe(),
        )
        if isinstance(decision, GiveUp):
            return self._dead_letter(message, envelope, decision.reason, result, retried, [active, error])

        assert isinstance(decision, RetryLater)
        delay = max(0, math.ceil(decision.delay_seconds))
        next_ms = finished_ms + delay * 1000
        retry = self._event(envelope, State.RETRY, finished_ms, retried, next_delivery_ms=next_ms)
        self._history.record(envelope, [active, error, retry])
        if delay <= MAX_VISIBILITY_SECONDS or envelope.queue:
            self._queue.retry_later(message, delay_seconds=min(delay, MAX_VISIBILITY_SECONDS))
            return DeliveryReport(outcome=Outcome.RETRY_SCHEDULED, retried=retried, result=result)
        hop = envelope.model_copy(update={"retried_offset": retried + 1, "not_before": next_ms})
        self._queue.send(hop, delay_seconds=MAX_SEND_DELAY_SECONDS)
        return DeliveryReport(outcome=Outcome.REQUEUED, retried=retried, result=result)

    def _fan_out_firing(self, message: QueuedMessage, template: Envelope, now_ms: int) -> DeliveryReport:
        """A schedule firing for a URL group: one message per endpoint, each enqueued on its own."""
        try:
            endpoints = self._groups.endpoints(template.url_group or "") if self._groups else ()
        except NotFound:
            endpoints = ()
        for index, endpoint in enumerate(endpoints):
            envelope = template.materialize(
                message_id=_firing_id(f"{message.sqs_message_id}/{index}"), now_ms=now_ms
            ).model_copy(update={"destination": endpoint.url, "endpoint_name": endpoint.name})
            created = self._event(envelope, State.CREATED, now_ms, 0, next_delivery_ms=envelope.not_before)
            self._history.message_created(envelope, created)
            self._history.schedule_fired(envelope.schedule_id or "", envelope.id, now_ms)
            self._queue.send(envelope, delay_seconds=0)
        # A group with no endpoints (or deleted) produces no messages, as in QStash.
        return DeliveryReport(outcome=Outcome.REQUEUED if endpoints else Outcome.DROPPED, retried=0)

    def _dead_letter(
        self,
        message: QueuedMessage,
        envelope: Envelope,
        reason: str,
        result: AttemptResult,
        retried: int,
        events: list[LogEvent],
    ) -> DeliveryReport:
        # Derived from the SQS receipt, so a crash and redelivery re-writes the same entry instead of
        # creating a second one that could be retried twice.
        dlq_id = _dlq_id(f"{message.sqs_message_id}/{message.receive_count}")
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
        failed = self._event(envelope, State.FAILED, now_ms, retried, result, error=reason, dlq_id=dlq_id)
        self._history.record(envelope, [*events, failed])
        if envelope.failure_callback is not None:
            self._publish_callback(
                envelope,
                envelope.failure_callback,
                result,
                retried,
                "failure_callback",
                now_ms,
                dlq_id=dlq_id,
            )
        return DeliveryReport(outcome=Outcome.DEAD_LETTERED, retried=retried, result=result, reason=reason)

    def _callback_after_attempt(
        self, envelope: Envelope, result: AttemptResult, retried: int, now_ms: int
    ) -> None:
        if envelope.callback is not None:
            self._publish_callback(envelope, envelope.callback, result, retried, "callback", now_ms)

    def _publish_callback(
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
            self._history.message_created(
                callback,
                self._event(callback, State.CREATED, now_ms, 0, next_delivery_ms=callback.not_before),
            )
            self._queue.send(callback, delay_seconds=min((spec.delay or 0), MAX_SEND_DELAY_SECONDS))
        except Exception:
            log.exception("could not publish the %s of message %s", kind, envelope.id)

    @staticmethod
    def _event(
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
