"""The port the queue and flow-control use cases keep limit states through, and its in-memory twin.

`update` is the one way to change a state: the store reads it, the pure function decides, and the
store writes the result only if nobody else wrote in between (optimistic concurrency), trying
again otherwise. Every dispatcher instance therefore sees one limit per key.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Protocol, TypeVar

from ferry.domain.flow_control import Kind, LimitState

T = TypeVar("T")
# What an update function returns: its answer, and the state to store (the same object: no write).
Change = Callable[[LimitState | None], tuple[T, LimitState | None]]


class LimitStore(Protocol):
    def get(self, kind: Kind, name: str) -> LimitState | None: ...

    def update(self, kind: Kind, name: str, change: Change[T]) -> T:
        """Apply `change` atomically; returning None as the state leaves a missing state missing."""
        ...

    def delete(self, kind: Kind, name: str) -> bool: ...

    def list(self, kind: Kind) -> list[LimitState]: ...


class InMemoryLimitStore:
    """The twin for fast tests: a dict behind a lock (the contract tests hold both to one behaviour)."""

    def __init__(self) -> None:
        self._states: dict[tuple[str, str], LimitState] = {}
        self._lock = threading.Lock()

    def get(self, kind: Kind, name: str) -> LimitState | None:
        with self._lock:
            return self._states.get((kind, name))

    def update(self, kind: Kind, name: str, change: Change[T]) -> T:
        with self._lock:
            current = self._states.get((kind, name))
            answer, updated = change(current)
            if updated is not None and updated is not current:
                self._states[(kind, name)] = updated
            return answer

    def delete(self, kind: Kind, name: str) -> bool:
        with self._lock:
            return self._states.pop((kind, name), None) is not None

    def list(self, kind: Kind) -> list[LimitState]:
        with self._lock:
            return sorted((s for (k, _), s in self._states.items() if k == kind), key=lambda s: s.name)
