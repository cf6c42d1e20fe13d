"""The limit store's in-memory twin (ferry.usecases.flow_control_store.LimitStore)."""

from __future__ import annotations

import threading
from typing import TypeVar

from ferry.domain.flow_control import Kind, LimitState
from ferry.usecases.flow_control_store import Change

T = TypeVar("T")


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
