"""The delivery step that enforces queue and flow-control limits (see ferry.usecases.deliver_message).

Before the attempt it takes a slot from every limit of the message (its queue, its flow-control
key); after the rest of the delivery it gives them back, and a 429/503 answer blocks the keys for
the Retry-After. A message that may not start yet is held:
  * a queue message (FIFO head) is hidden for a while and keeps its place in its lane; the gate
    counted that receive as held, so it is not an attempt;
  * any other message goes back on the queue with its attempts carried in `retried_offset`.
Either way nothing is rejected and the message asks again later, backing off instead of polling.
"""

from __future__ import annotations

import math
from dataclasses import replace

from ferry.domain.history import State
from ferry.domain.limits import Limits
from ferry.usecases.delivery_pipeline import Delivery, DeliveryReport, Outcome, Proceed
from ferry.usecases.delivery_recorder import event
from ferry.usecases.delivery_steps import MAX_VISIBILITY_SECONDS
from ferry.usecases.flow_control_gate import Held, LimitGate
from ferry.usecases.ports import History, MessageQueue


class EnforceLimits:
    def __init__(
        self, *, gate: LimitGate, queue: MessageQueue, limits: Limits, history: History | None = None
    ):
        self._gate, self._queue, self._limits, self._history = gate, queue, limits, history

    def __call__(self, delivery: Delivery, proceed: Proceed) -> DeliveryReport:
        envelope = delivery.envelope
        if not self._gate.applies(envelope):
            return proceed(delivery)
        entry = self._gate.enter(delivery.message, envelope, retried=delivery.retried)
        if isinstance(entry, Held):
            return self._hold(delivery, entry)
        report: DeliveryReport | None = None
        try:
            report = proceed(replace(delivery, retried=delivery.retried - entry.held_receives))
        finally:
            # Also when a later step raised: the slot is free at once, not only at lease expiry.
            # A retry of a queue message is a later receive of the same SQS message: its receive
            # count still includes the held receives, so the queue keeps counting them.
            again = report is None or report.outcome is Outcome.RETRY_SCHEDULED
            self._gate.leave(entry, report.result if report is not None else None, done=not again)
        return report

    def _hold(self, delivery: Delivery, held: Held) -> DeliveryReport:
        seconds = max(1, math.ceil(held.seconds))
        reason = f"held: {held.reason}"
        if held.reason == "backpressure" and self._history is not None:
            # Visible in the message's log: it waits because its destination asked the key to slow
            # down (one event per hold; holds for parallelism or rate are not logged).
            self._history.record(
                delivery.envelope,
                [
                    event(
                        delivery.envelope,
                        State.RETRY,
                        delivery.now_ms,
                        delivery.retried,
                        error="held: the destination answered 429/503 to a message of this key; "
                        "no message of the key starts before the Retry-After",
                        next_delivery_ms=delivery.now_ms + seconds * 1000,
                    )
                ],
            )
        if delivery.envelope.queue:
            self._queue.retry_later(delivery.message, delay_seconds=min(seconds, MAX_VISIBILITY_SECONDS))
            return DeliveryReport(outcome=Outcome.RETRY_SCHEDULED, retried=delivery.retried, reason=reason)
        hop = delivery.envelope.model_copy(update={"retried_offset": delivery.retried})
        self._queue.send(hop, delay_seconds=min(seconds, self._limits.max_sqs_delay_seconds))
        return DeliveryReport(outcome=Outcome.REQUEUED, retried=delivery.retried, reason=reason)
