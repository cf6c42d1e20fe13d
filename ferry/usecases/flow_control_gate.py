"""The limit gate: a message joins its queue and flow-control key when it is accepted (`admit`),
takes a slot before each attempt (`enter`) and gives it back after (`leave`).

A message that may not start yet is `Held`: the dispatcher hides it for `seconds` and it asks
again, without that receive counting as an attempt. Slots are leases: a dispatcher that dies
mid-attempt loses its slot when the lease expires (attempt timeout + margin), never for good.
"""

from __future__ import annotations

import hashlib
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass, replace

from ferry.domain import flow_control as fc
from ferry.domain import queues
from ferry.domain.backoff import retry_after_seconds
from ferry.domain.delivery import AttemptResult
from ferry.domain.envelope import Envelope
from ferry.domain.flow_control import FlowControlValue, Kind, Lease, LimitState, Wait
from ferry.usecases.flow_control_store import LimitStore, StoreBusy
from ferry.usecases.ports import Clock, QueuedMessage

log = logging.getLogger("ferry.limits")
# Statuses that mean "slow down" for the whole key, not only for this message.
BACKPRESSURE_STATUSES = frozenset({429, 503})


@dataclass(frozen=True)
class Admitted:
    """Slots taken for one attempt; `held_receives` were receives spent waiting, not attempts."""

    leases: tuple[tuple[Kind, str, str], ...] = ()
    held_receives: int = 0
    message_id: str = ""


@dataclass(frozen=True)
class Held:
    reason: str
    seconds: float


@dataclass(frozen=True)
class _Taken:
    decision: Lease | Wait
    held: int = 0
    state: LimitState | None = None


@dataclass
class LimitGate:
    store: LimitStore
    clock: Clock
    # A slot outlives its attempt's timeout by this much before it is presumed lost.
    lease_margin_seconds: float = 30.0
    # Backpressure when a 429/503 carries no usable Retry-After.
    default_backpressure_seconds: float = 5.0

    @staticmethod
    def applies(envelope: Envelope) -> bool:
        return bool(envelope.queue or envelope.flow_control)

    def _now_ms(self) -> int:
        return int(self.clock.now() * 1000)

    # --- publish side ---------------------------------------------------------------------------

    def admit(self, envelope: Envelope) -> Envelope:
        """Join the queue (created with defaults if missing) and register the key's configuration:
        the latest message's values replace it unless pinned. Returns the envelope with its lane."""
        now_ms = self._now_ms()
        if envelope.flow_control is not None:
            value = _value(envelope)
            key = envelope.flow_control.key

            def join_key(state: LimitState | None) -> tuple[None, LimitState]:
                base = fc.configure(state or fc.new_state("fc", key, now_ms), value, now_ms)
                return None, replace(base, waiting=base.waiting + 1)

            self.store.update("fc", key, join_key)
        if envelope.queue:
            name = envelope.queue
            lane = self.store.update("queue", name, lambda s: queues.enqueued(s, name=name, now_ms=now_ms))
            envelope = envelope.model_copy(update={"lane": lane})
        return envelope

    # --- delivery side --------------------------------------------------------------------------

    def enter(self, message: QueuedMessage, envelope: Envelope, *, retried: int) -> Admitted | Held:
        """Take a slot of every limit of the message, or say how long it must wait. A limit too
        contended to answer holds the message briefly (it asks again), never fails it."""
        try:
            return self._enter(message, envelope, retried=retried)
        except StoreBusy:
            return Held(reason="contention", seconds=1 + random.random() * 2)

    def _enter(self, message: QueuedMessage, envelope: Envelope, *, retried: int) -> Admitted | Held:
        # One lease per receive: two receives of one message (moto's racy FIFO receive, or a
        # redelivery) are two claimants, so only one of them may start.
        receipt = hashlib.sha256(message.receipt_handle.encode()).hexdigest()[:12]
        lease_id = f"{message.sqs_message_id}:{receipt}"
        lease_ms = int((envelope.timeout + self.lease_margin_seconds) * 1000)
        taken: list[tuple[Kind, str, str]] = []
        held = 0
        if envelope.queue:
            parked_at = (message.queue_url, message.receipt_handle)
            queue_taken = self.store.update(
                "queue",
                envelope.queue,
                self._take_queue(envelope.id, lease_id, self._now_ms, lease_ms, retried, parked_at),
            )
            if queue_taken is not None:
                if isinstance(queue_taken.decision, Wait):
                    parked = queue_taken.decision.reason == "paused"
                    return self._held(queue_taken.decision, queue_taken.held, queue_taken.state, parked)
                taken.append(("queue", envelope.queue, lease_id))
                held = queue_taken.held
        if envelope.flow_control is not None:
            first = retried - held == 0
            try:
                key_taken = self.store.update(
                    "fc",
                    envelope.flow_control.key,
                    self._take_key(envelope, lease_id, self._now_ms, lease_ms, first),
                )
            except StoreBusy:
                if taken:
                    self.store.update("queue", envelope.queue or "", self._give_back(envelope.id, lease_id))
                raise
            if isinstance(key_taken.decision, Wait):
                held_before = 0
                if taken:
                    # Give the queue slot back; the FIFO head waits and its receive is not an attempt.
                    held_before = self.store.update(
                        "queue", envelope.queue or "", self._give_back(envelope.id, lease_id)
                    )
                return self._held(key_taken.decision, held_before, key_taken.state)
            taken.append(("fc", envelope.flow_control.key, lease_id))
        return Admitted(leases=tuple(taken), held_receives=held, message_id=envelope.id)

    def leave(self, admitted: Admitted, result: AttemptResult | None = None, *, done: bool = True) -> None:
        """Give the slots back; a 429/503 blocks every key of the message for its Retry-After.
        `done`: the message will not be received again as the same SQS message (delivered, dead-
        lettered, re-sent), so its queue forgets the receives it spent held."""
        blocked_until = 0
        if result is not None and result.status in BACKPRESSURE_STATUSES:
            now = self.clock.now()
            wait = retry_after_seconds(result.headers, now)
            blocked_until = int((now + (self.default_backpressure_seconds if wait is None else wait)) * 1000)
        for kind, name, lease_id in admitted.leases:
            forget_held = kind == "queue" and done

            def give(
                state: LimitState | None, lease_id: str = lease_id, forget_held: bool = forget_held
            ) -> tuple[None, LimitState | None]:
                if state is None:
                    return None, None
                freed = fc.release(state, lease_id)
                if forget_held:
                    _, freed = queues.take_held(freed, admitted.message_id)
                return None, fc.block(freed, until_ms=blocked_until) if blocked_until else freed

            try:
                self.store.update(kind, name, give)
            except StoreBusy:
                # The lease then expires on its own (attempt timeout + margin): nothing is lost.
                log.warning("could not release a %s slot of %s (contention); it expires", kind, name)

    # --- the pure steps, applied by the store ---------------------------------------------------

    @staticmethod
    def _take_queue(
        message_id: str,
        lease_id: str,
        clock_ms: Callable[[], int],
        lease_ms: int,
        retried: int,
        parked_at: tuple[str, str],
    ):
        # The clock is read on every try: a write retried after a conflict must not record a start
        # at the earlier time (the rate window would then let more through than the rate).
        def change(state: LimitState | None) -> tuple[_Taken | None, LimitState | None]:
            now_ms = clock_ms()
            if state is None:
                return None, None  # a deleted queue: its remaining messages drain by FIFO lane alone
            decision, after = fc.acquire(state, lease_id=lease_id, now_ms=now_ms, lease_ms=lease_ms)
            if isinstance(decision, Wait):
                park = parked_at if decision.reason == "paused" else None
                count, after = queues.note_held(after, message_id, parked_at=park)
                return _Taken(decision, count, after), after
            held, after = queues.start_held(after, message_id)
            if retried - held == 0:
                after = fc.started(after)
            return _Taken(decision, held, after), after

        return change

    @staticmethod
    def _take_key(envelope: Envelope, lease_id: str, clock_ms: Callable[[], int], lease_ms: int, first: bool):
        key = envelope.flow_control.key if envelope.flow_control else ""
        value = _value(envelope)

        def change(state: LimitState | None) -> tuple[_Taken, LimitState]:
            now_ms = clock_ms()
            base = fc.configure(state or fc.new_state("fc", key, now_ms), value, now_ms)
            decision, after = fc.acquire(base, lease_id=lease_id, now_ms=now_ms, lease_ms=lease_ms)
            if isinstance(decision, Lease) and first:
                after = fc.started(after)
            return _Taken(decision, 0, after), after

        return change

    @staticmethod
    def _give_back(message_id: str, lease_id: str):
        def change(state: LimitState | None) -> tuple[int, LimitState | None]:
            if state is None:
                return 0, None
            count, after = queues.note_held(fc.release(state, lease_id), message_id)
            return count, after

        return change

    @staticmethod
    def _held(wait: Wait, held_before: int, state: LimitState | None, parked: bool = False) -> Held:
        seconds = fc.hold_seconds(
            wait, held_before=held_before, state=state, parked=parked, spread=random.random()
        )
        return Held(reason=wait.reason, seconds=seconds)


def _value(envelope: Envelope) -> FlowControlValue:
    control = envelope.flow_control
    assert control is not None
    return FlowControlValue(
        parallelism=control.parallelism,
        rate=control.rate,
        period=control.period or fc.DEFAULT_PERIOD_SECONDS,
    )
