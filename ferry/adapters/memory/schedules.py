"""InMemorySchedules: the schedule store, as `ferry.adapters.schedules.EventBridgeSchedules` keeps
it (a replacing `put` keeps the creation time, a cron needing one schedule drops the second)."""

from __future__ import annotations

import threading
from dataclasses import replace

from ferry.domain.envelope import Envelope
from ferry.usecases.ports import Clock
from ferry.usecases.schedules import SecondSchedule, StoredSchedule


class InMemorySchedules:
    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._items: dict[str, StoredSchedule] = {}
        self._lock = threading.Lock()

    def put(
        self,
        schedule_id: str,
        *,
        cron: str,
        expression: str,
        timezone: str,
        template: Envelope,
        paused: bool = False,
        second: SecondSchedule | None = None,
    ) -> None:
        with self._lock:
            earlier = self._items.get(schedule_id)
            created = earlier.created_at_ms if earlier else int(self._clock.now() * 1000)
            self._items[schedule_id] = StoredSchedule(
                schedule_id, cron, expression, timezone, template, paused, created, second
            )

    def get(self, schedule_id: str) -> StoredSchedule | None:
        return self._items.get(schedule_id)

    def set_paused(self, schedule_id: str, paused: bool) -> bool:
        with self._lock:
            if schedule_id not in self._items:
                return False
            self._items[schedule_id] = replace(self._items[schedule_id], paused=paused)
            return True

    def delete(self, schedule_id: str) -> bool:
        with self._lock:
            return self._items.pop(schedule_id, None) is not None

    def ids(self) -> list[str]:
        return sorted(self._items)
