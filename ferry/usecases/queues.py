"""Queues: upsert, get, list, delete, pause, resume (`/v2/queues`)."""

from __future__ import annotations

from typing import Protocol

from ferry.domain import flow_control as fc
from ferry.domain import queues
from ferry.domain.errors import NotFound
from ferry.domain.flow_control import LimitState
from ferry.usecases.flow_control_store import LimitStore
from ferry.usecases.ports import Clock


class HeldHeads(Protocol):
    def wake(self, queue_url: str, receipt_handle: str) -> None:
        """Make a hidden queue message visible now (it may already be gone: then nothing)."""
        ...


class Queues:
    def __init__(self, *, store: LimitStore, clock: Clock, heads: HeldHeads | None = None) -> None:
        self._store = store
        self._clock = clock
        self._heads = heads

    def _now_ms(self) -> int:
        return int(self._clock.now() * 1000)

    def upsert(
        self, name: str, *, parallelism: int = queues.DEFAULT_PARALLELISM, paused: bool = False
    ) -> None:
        queues.check_queue_name(name)
        fc.check_parallelism(parallelism, field="parallelism")
        now_ms = self._now_ms()
        self._store.update(
            "queue",
            name,
            lambda s: (
                None,
                queues.upsert(s, name=name, parallelism=parallelism, paused=paused, now_ms=now_ms),
            ),
        )

    def get(self, name: str) -> dict[str, object]:
        queues.check_queue_name(name, field="queueName")
        state = self._store.get("queue", name)
        if state is None:
            raise NotFound(f"queue {name!r} does not exist", field="queueName")
        return queues.queue_body(state, self._now_ms())

    def list(self) -> list[dict[str, object]]:
        now_ms = self._now_ms()
        return [queues.queue_body(s, now_ms) for s in self._store.list("queue")]

    def delete(self, name: str) -> None:
        """Idempotent, as QStash answers 200 for a queue that is already gone. Messages still in its
        lanes are delivered; enqueueing again recreates it with defaults."""
        queues.check_queue_name(name, field="queueName")
        self._store.delete("queue", name)

    def pause(self, name: str) -> None:
        self._set_paused(name, True)

    def resume(self, name: str) -> None:
        self._set_paused(name, False)

    def _set_paused(self, name: str, paused: bool) -> None:
        queues.check_queue_name(name, field="queueName")
        now_ms = self._now_ms()

        def change(state: LimitState | None) -> tuple[list[tuple[str, str]] | None, LimitState | None]:
            if state is None:
                return None, None
            changed = fc.set_paused(state, paused, now_ms)
            if paused:
                return [], changed
            return queues.unpark(changed)

        parked = self._store.update("queue", name, change)
        if parked is None:
            raise NotFound(f"queue {name!r} does not exist", field="queueName")
        # Paused heads hide for long (few receives while paused); resume shows them again now. A
        # head not woken (a failed call) still shows up when its hold ends: nothing is lost.
        for queue_url, receipt in parked if self._heads else ():
            self._heads.wake(queue_url, receipt)
