"""InMemoryDelays: long delays held outside the queue until shortly before they are due."""

from __future__ import annotations

from ferry.domain.envelope import Envelope

MAX_INPUT_BYTES = 200_000


class InMemoryDelays:
    def __init__(self) -> None:
        self.scheduled: list[Envelope] = []

    def fits(self, envelope: Envelope) -> bool:
        return len(envelope.to_json().encode()) <= MAX_INPUT_BYTES

    def schedule(self, envelope: Envelope) -> None:
        self.scheduled.append(envelope)
