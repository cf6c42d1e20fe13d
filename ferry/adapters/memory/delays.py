"""InMemoryDelays: long delays held outside the queue until shortly before they are due."""

from __future__ import annotations

from ferry.adapters.scheduler import MAX_INPUT_BYTES
from ferry.domain.envelope import Envelope


class InMemoryDelays:
    def __init__(self) -> None:
        self.scheduled: dict[str, Envelope] = {}

    def fits(self, envelope: Envelope) -> bool:
        return len(envelope.to_json().encode()) <= MAX_INPUT_BYTES

    def schedule(self, envelope: Envelope) -> None:
        # One schedule per message id, as EventBridge Scheduler names them.
        self.scheduled.setdefault(envelope.id, envelope)
