"""The port the queue and flow-control use cases keep limit states through.

`update` is the one way to change a state: the store reads it, the pure function decides, and the
store writes the result only if nobody else wrote in between (optimistic concurrency), trying
again otherwise. Every dispatcher instance therefore sees one limit per key.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, TypeVar

from ferry.domain.flow_control import Kind, LimitState

T = TypeVar("T")
# What an update function returns: its answer, and the state to store (the same object: no write).
Change = Callable[[LimitState | None], tuple[T, LimitState | None]]


class StoreBusy(RuntimeError):
    """Too many concurrent writers on one state: the change was not applied."""


class LimitStore(Protocol):
    def get(self, kind: Kind, name: str) -> LimitState | None: ...

    def update(self, kind: Kind, name: str, change: Change[T]) -> T:
        """Apply `change` atomically; returning None as the state leaves a missing state missing."""
        ...

    def delete(self, kind: Kind, name: str) -> bool: ...

    def list(self, kind: Kind) -> list[LimitState]: ...
