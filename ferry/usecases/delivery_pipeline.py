"""The shape of a delivery: one received message passed through named steps, each of which either
finishes the delivery (returns a report) or hands it on to the next step (`proceed`).

A step that must act around the rest of the delivery (take a lease before the attempt and give it
back after, report the outcome elsewhere) wraps `proceed`:

    class MyStep:
        def __call__(self, delivery: Delivery, proceed: Proceed) -> DeliveryReport:
            ...                              # before: may return a report to stop here
            report = proceed(delivery)       # the rest of the steps
            ...                              # after: sees the outcome
            return report

The steps and their order are listed once, in `ferry.usecases.deliver_message`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from ferry.domain.delivery import AttemptResult, Decision, DeliveryRequest
from ferry.domain.envelope import Envelope
from ferry.usecases.ports import QueuedMessage


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
    # The message as received (set by DeliverMessage; None for a body that is not an envelope).
    envelope: Envelope | None = None

    @property
    def keeps_message_in_queue(self) -> bool:
        """The received SQS message stays (hidden until its retry); everything else deletes it."""
        return self.outcome is Outcome.RETRY_SCHEDULED


@dataclass(frozen=True)
class Delivery:
    """One received message on its way through the steps; each step may hand on a changed copy."""

    message: QueuedMessage
    envelope: Envelope
    # Clock reading when the delivery started (unix seconds).
    now: float
    # Retries spent before this attempt: earlier SQS messages' plus this one's earlier receives.
    retried: int
    # Filled in by the attempt and decide steps.
    request: DeliveryRequest | None = None
    result: AttemptResult | None = None
    finished: float | None = None
    decision: Decision | None = None

    @property
    def now_ms(self) -> int:
        return int(self.now * 1000)

    @property
    def finished_ms(self) -> int:
        return int((self.finished if self.finished is not None else self.now) * 1000)

    @classmethod
    def received(cls, message: QueuedMessage, now: float) -> Delivery:
        retried = message.envelope.retried_offset + max(message.receive_count - 1, 0)
        return cls(message=message, envelope=message.envelope, now=now, retried=retried)


Proceed = Callable[[Delivery], DeliveryReport]


class DeliveryStep(Protocol):
    def __call__(self, delivery: Delivery, proceed: Proceed) -> DeliveryReport: ...


def _end_of_steps(delivery: Delivery) -> DeliveryReport:
    raise RuntimeError(f"no step finished the delivery of message {delivery.envelope.id!r}")


def chain(steps: Sequence[DeliveryStep]) -> Proceed:
    """The steps as one function: the first step is called, and each `proceed` calls the next."""
    proceed: Proceed = _end_of_steps
    for step in reversed(steps):
        proceed = _bind(step, proceed)
    return proceed


def _bind(step: DeliveryStep, proceed: Proceed) -> Proceed:
    def run(delivery: Delivery) -> DeliveryReport:
        return step(delivery, proceed)

    run.__qualname__ = type(step).__name__
    return run
