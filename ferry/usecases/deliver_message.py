"""Deliver one queued message: a fixed list of named steps (`ferry.usecases.delivery_steps`).

Every message ends in exactly one terminal state: DELIVERED, FAILED (in the DLQ) or CANCELED.

Where a new step goes: a step that decides whether (or when) the attempt may happen, or that
needs the outcome of the attempt, is passed in `around_attempt` (see `ferry.wiring`): it runs
after every reason not to deliver has been ruled out (cancelled, not due, finished, out of
budget) and wraps the attempt, so it can hold the message back before it and see the recorded
outcome after it. Flow control (take a lease, release it after; or hide the message for a while)
and workflow steps (report the outcome to Step Functions) plug in there.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

from ferry.domain.limits import Limits
from ferry.usecases.delivery_pipeline import Delivery, DeliveryReport, DeliveryStep, Outcome, chain
from ferry.usecases.delivery_recorder import DeliveryRecorder
from ferry.usecases.delivery_steps import (
    Attempt,
    ClaimConsoleRedrive,
    Decide,
    EnforceCrashBudget,
    FanOutGroupFiring,
    HoldUntilDue,
    MaterializeScheduleFiring,
    Record,
    SkipIfFinished,
    StopIfCancelled,
)
from ferry.usecases.duplicate_firings import DropDuplicateFiring
from ferry.usecases.ports import (
    Clock,
    GroupEndpoints,
    History,
    HttpTarget,
    MessageQueue,
    QueuedMessage,
    ReceivedMessage,
    SigningKeys,
)
from ferry.usecases.publish_message import new_message_id

__all__ = ["DeliverMessage", "DeliveryReport", "Outcome"]


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
        limits: Limits | None = None,
        around_attempt: Sequence[DeliveryStep] = (),
    ) -> None:
        limits = limits or Limits()
        self._clock = clock
        self._queue = queue
        recorder = DeliveryRecorder(
            history=history,
            queue=queue,
            clock=clock,
            new_id=new_id,
            default_timeout_seconds=default_timeout_seconds,
            limits=limits,
        )
        self.steps: tuple[DeliveryStep, ...] = (
            # Messages that are not yet (or no longer) a delivery of their own:
            DropDuplicateFiring(),
            FanOutGroupFiring(groups=groups, queue=queue, recorder=recorder),
            MaterializeScheduleFiring(history=history, queue=queue, recorder=recorder),
            ClaimConsoleRedrive(history=history, queue=queue),
            # Reasons not to attempt now:
            StopIfCancelled(history=history),
            HoldUntilDue(queue=queue, limits=limits),
            SkipIfFinished(history=history),
            EnforceCrashBudget(recorder=recorder),
            # Plug-ins (flow control, workflow outcome reporting):
            *around_attempt,
            # The attempt and its consequences:
            Attempt(target=target, keys=keys, clock=clock, jwt_lifetime_seconds=jwt_lifetime_seconds),
            Decide(),
            Record(history=history, queue=queue, recorder=recorder, limits=limits),
        )
        self._run = chain(self.steps)

    def __call__(self, message: QueuedMessage) -> DeliveryReport:
        report = self._run(Delivery.received(message, self._clock.now()))
        return replace(report, envelope=message.envelope)

    def received(self, message: ReceivedMessage) -> DeliveryReport:
        """Deliver a message as the queue handed it over. A body that is not an envelope can never
        be delivered: it goes to the DLQ as it is, at once, instead of returning after every
        visibility timeout until SQS's redrive policy moves it without a word."""
        try:
            queued = message.read()
        except ValueError as exc:
            problem = exc.__class__.__name__
            reason = f"the queued message is not a Ferry envelope ({problem}); dead-lettered as it is"
            self._queue.dead_letter_unreadable(message, reason=reason)
            return DeliveryReport(outcome=Outcome.DEAD_LETTERED, retried=0, reason=reason)
        return self(queued)
