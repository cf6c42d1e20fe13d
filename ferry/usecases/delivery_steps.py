"""The steps of one delivery, in the order `DeliverMessage` runs them. Each answers one question
about the received message and either finishes the delivery or hands it on (`proceed`).

Retries ride on SQS itself: a failed attempt hides the received message for the backoff delay
(ChangeMessageVisibility) and reports it as a batch item failure, so SQS redelivers it with a
higher ApproximateReceiveCount — which is how attempts are counted without rewriting the message.
Delays longer than SQS can hide a message re-enqueue it instead ("hops").
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import replace
from typing import Protocol

from ferry.domain.delivery import (
    AttemptResult,
    Delivered,
    GiveUp,
    RetryLater,
    build_request,
    decide,
    unsendable_reason,
)
from ferry.domain.errors import NotFound
from ferry.domain.history import TERMINAL_STATES, State
from ferry.domain.limits import SQS_MAX_VISIBILITY_SECONDS, Limits
from ferry.usecases.delivery_pipeline import Delivery, DeliveryReport, Outcome, Proceed
from ferry.usecases.delivery_recorder import DeliveryRecorder, event
from ferry.usecases.ports import (
    CancelMarks,
    Clock,
    DeadLetterStore,
    GroupEndpoints,
    HttpTarget,
    MessageLog,
    MessageQueue,
    SigningKeys,
)


class RedriveHistory(MessageLog, DeadLetterStore, Protocol):
    pass


class CancelledHistory(MessageLog, CancelMarks, Protocol):
    pass


MAX_VISIBILITY_SECONDS = SQS_MAX_VISIBILITY_SECONDS
# A message arriving this early is treated as due (SQS delays have one-second granularity).
DUE_TOLERANCE_MS = 1_000


def firing_id(seed: str) -> str:
    return "msg_" + hashlib.sha256(seed.encode()).hexdigest()[:32]


class FanOutGroupFiring:
    """A schedule firing for a URL group becomes one message per endpoint, each enqueued on its own."""

    def __init__(self, *, groups: GroupEndpoints | None, queue: MessageQueue, recorder: DeliveryRecorder):
        self._groups, self._queue, self._recorder = groups, queue, recorder

    def __call__(self, delivery: Delivery, proceed: Proceed) -> DeliveryReport:
        template = delivery.envelope
        if not (template.is_schedule_template and template.url_group and not template.destination):
            return proceed(delivery)
        try:
            endpoints = self._groups.endpoints(template.url_group) if self._groups else ()
        except NotFound:
            endpoints = ()
        for index, endpoint in enumerate(endpoints):
            envelope = template.materialize(
                message_id=firing_id(f"{delivery.message.sqs_message_id}/{index}"), now_ms=delivery.now_ms
            ).model_copy(update={"destination": endpoint.url, "endpoint_name": endpoint.name})
            self._recorder.created(envelope, delivery.now_ms)
            self._recorder.schedule_fired(envelope, delivery.now_ms)
            self._queue.send(envelope, delay_seconds=0)
        # A group with no endpoints (or deleted) produces no messages, as in QStash.
        return DeliveryReport(outcome=Outcome.REQUEUED if endpoints else Outcome.DROPPED, retried=0)


class MaterializeScheduleFiring:
    """One firing of a schedule becomes a message of its own. Its id derives from the SQS message
    id, so retries of this firing keep it."""

    def __init__(self, *, history: MessageLog, queue: MessageQueue, recorder: DeliveryRecorder):
        self._history, self._queue, self._recorder = history, queue, recorder

    def __call__(self, delivery: Delivery, proceed: Proceed) -> DeliveryReport:
        if not delivery.envelope.is_schedule_template:
            return proceed(delivery)
        message = delivery.message
        envelope = delivery.envelope.materialize(
            message_id=firing_id(message.sqs_message_id), now_ms=delivery.now_ms
        )
        if message.receive_count <= 1 or self._history.get_envelope(envelope.id) is None:
            # (Also after a crash that came before this write: the message must be known.)
            self._recorder.created(envelope, delivery.now_ms)
            self._recorder.schedule_fired(envelope, delivery.now_ms)
        if envelope.queue:
            # Scheduler sends to the standard queue; a queue's firing joins its FIFO group here.
            self._queue.send(envelope, delay_seconds=0)
            return DeliveryReport(outcome=Outcome.REQUEUED, retried=0)
        return proceed(replace(delivery, envelope=envelope))


class ClaimConsoleRedrive:
    """A message moved back from the SQS DLQ by the AWS console (StartMessageMoveTask) claims its DLQ
    entry, so an API retry or delete of the same entry cannot also deliver it."""

    def __init__(self, *, history: RedriveHistory, queue: MessageQueue):
        self._history, self._queue = history, queue

    def __call__(self, delivery: Delivery, proceed: Proceed) -> DeliveryReport:
        envelope = delivery.envelope
        if envelope.dlq_id is None:
            return proceed(delivery)
        if self._history.take_dead_letter(envelope.dlq_id) is None:
            return DeliveryReport(outcome=Outcome.DROPPED, retried=delivery.retried)
        # The claimed message goes back on the queue without its dlq_id: its retries (which
        # re-receive the same SQS message) must not find the entry gone and drop it.
        clean = envelope.model_copy(update={"dlq_id": None, "retried_offset": 0})
        self._queue.send(clean, delay_seconds=0)
        self._history.record(clean, [event(clean, State.CREATED, delivery.now_ms, 0)])
        return DeliveryReport(outcome=Outcome.REQUEUED, retried=0)


class StopIfCancelled:
    def __init__(self, *, history: CancelledHistory):
        self._history = history

    def __call__(self, delivery: Delivery, proceed: Proceed) -> DeliveryReport:
        envelope = delivery.envelope
        if not self._history.cancel_requested(envelope.id, envelope.created_at):
            return proceed(delivery)
        self._history.record(envelope, [event(envelope, State.CANCELED, delivery.now_ms, delivery.retried)])
        return DeliveryReport(outcome=Outcome.CANCELED, retried=delivery.retried)


class HoldUntilDue:
    """Not due yet (a delay longer than one SQS hop): send it on for the remaining time.
    Re-enqueuing keeps ApproximateReceiveCount honest; it only counts real attempts. (Queue
    messages are never delayed: publish and schedules refuse a delay with a queue.)"""

    def __init__(self, *, queue: MessageQueue, limits: Limits):
        self._queue, self._limits = queue, limits

    def __call__(self, delivery: Delivery, proceed: Proceed) -> DeliveryReport:
        envelope = delivery.envelope
        if envelope.not_before <= delivery.now_ms + DUE_TOLERANCE_MS:
            return proceed(delivery)
        remaining = math.ceil((envelope.not_before - delivery.now_ms) / 1000)
        hop = envelope.model_copy(update={"retried_offset": delivery.retried})
        self._queue.send(hop, delay_seconds=min(remaining, self._limits.max_sqs_delay_seconds))
        return DeliveryReport(outcome=Outcome.REQUEUED, retried=delivery.retried)


class SkipIfFinished:
    """Received again after its outcome was recorded: the invocation that delivered it crashed or
    timed out before SQS deleted it (e.g. a slow batch-mate). Not again."""

    def __init__(self, *, history: MessageLog):
        self._history = history

    def __call__(self, delivery: Delivery, proceed: Proceed) -> DeliveryReport:
        redelivered = delivery.message.receive_count > 1
        if redelivered and self._history.state(delivery.envelope.id) in TERMINAL_STATES:
            return DeliveryReport(outcome=Outcome.DROPPED, retried=delivery.retried)
        return proceed(delivery)


class EnforceCrashBudget:
    """More receives than the retry budget explains: earlier receives ended without an outcome (the
    dispatcher crashed or timed out on this message or a batch-mate, or the invocation was
    throttled). Dead-letter it here, with history and failure callback, before SQS's redrive
    policy moves it silently."""

    def __init__(self, *, recorder: DeliveryRecorder):
        self._recorder = recorder

    def __call__(self, delivery: Delivery, proceed: Proceed) -> DeliveryReport:
        envelope = delivery.envelope
        if delivery.retried <= envelope.max_retries:
            return proceed(delivery)
        unfinished = AttemptResult(status=None, error="no outcome recorded", finished_at_ms=delivery.now_ms)
        reason = (
            f"the dispatcher did not finish {delivery.retried - envelope.max_retries} attempt(s) of this "
            "message (Lambda crash, timeout or throttling); dead-lettered instead of trying again"
        )
        return self._recorder.dead_letter(delivery, reason, unfinished, envelope.max_retries)


class Attempt:
    """Sign the request and send it. A request that cannot be put on the wire (a header the HTTP
    client refuses, a stored body that cannot be decoded) is not sent: its result says so, and the
    decision dead-letters it at once instead of leaving it to SQS redeliveries."""

    def __init__(self, *, target: HttpTarget, keys: SigningKeys, clock: Clock, jwt_lifetime_seconds: int):
        self._target, self._keys, self._clock = target, keys, clock
        self._jwt_lifetime = jwt_lifetime_seconds

    def __call__(self, delivery: Delivery, proceed: Proceed) -> DeliveryReport:
        try:
            delivery.envelope.body_bytes()
        except ValueError as exc:  # (binascii.Error is one): a base64 body that is not base64
            return proceed(self._not_sent(delivery, f"the stored body cannot be decoded: {exc}"))
        # (Outside the check above: a signing-key problem is an outage to retry, not the message's.)
        request = build_request(
            delivery.envelope,
            retried=delivery.retried,
            signing_key=self._keys.current(),
            now=delivery.now,
            jwt_lifetime_seconds=self._jwt_lifetime,
        )
        if problem := unsendable_reason(request):
            return proceed(self._not_sent(delivery, problem))
        result = self._target.send(request)
        return proceed(replace(delivery, request=request, result=result, finished=self._clock.now()))

    def _not_sent(self, delivery: Delivery, problem: str) -> Delivery:
        now_ms = delivery.now_ms
        result = AttemptResult(
            status=None, error=problem, started_at_ms=now_ms, finished_at_ms=now_ms, unsendable=True
        )
        return replace(delivery, result=result, finished=delivery.now)


class Decide:
    """Deliver, retry (with which delay) or give up: the policy itself is `ferry.domain.delivery.decide`."""

    def __call__(self, delivery: Delivery, proceed: Proceed) -> DeliveryReport:
        assert delivery.result is not None and delivery.finished is not None, "Decide runs after Attempt"
        decision = decide(
            delivery.envelope, retried=delivery.retried, result=delivery.result, now=delivery.finished
        )
        return proceed(replace(delivery, decision=decision))


class Record:
    """The last step: carry the decision out (log, callback, retry schedule or dead letter)."""

    def __init__(
        self, *, history: MessageLog, queue: MessageQueue, recorder: DeliveryRecorder, limits: Limits
    ):
        self._history, self._queue, self._recorder, self._limits = history, queue, recorder, limits

    def __call__(self, delivery: Delivery, proceed: Proceed) -> DeliveryReport:
        envelope, retried, result = delivery.envelope, delivery.retried, delivery.result
        decision, finished_ms = delivery.decision, delivery.finished_ms
        assert result is not None and decision is not None, "Record runs after Decide"
        active = event(envelope, State.ACTIVE, delivery.now_ms, retried)
        if isinstance(decision, Delivered):
            delivered = event(envelope, State.DELIVERED, finished_ms, retried, result)
            self._history.record(envelope, [active, delivered])
            self._recorder.callback_after_attempt(envelope, result, retried, finished_ms)
            return DeliveryReport(outcome=Outcome.DELIVERED, retried=retried, result=result)
        self._recorder.callback_after_attempt(envelope, result, retried, finished_ms)
        error = event(envelope, State.ERROR, finished_ms, retried, result, error=result.describe())
        if isinstance(decision, GiveUp):
            return self._recorder.dead_letter(delivery, decision.reason, result, retried, [active, error])
        assert isinstance(decision, RetryLater)
        delay = max(0, math.ceil(decision.delay_seconds))
        next_ms = finished_ms + delay * 1000
        retry = event(envelope, State.RETRY, finished_ms, retried, next_delivery_ms=next_ms)
        self._history.record(envelope, [active, error, retry])
        if delay <= MAX_VISIBILITY_SECONDS or envelope.queue:
            self._queue.retry_later(delivery.message, delay_seconds=min(delay, MAX_VISIBILITY_SECONDS))
            return DeliveryReport(outcome=Outcome.RETRY_SCHEDULED, retried=retried, result=result)
        hop = envelope.model_copy(update={"retried_offset": retried + 1, "not_before": next_ms})
        self._queue.send(hop, delay_seconds=self._limits.max_sqs_delay_seconds)
        return DeliveryReport(outcome=Outcome.REQUEUED, retried=retried, result=result)
