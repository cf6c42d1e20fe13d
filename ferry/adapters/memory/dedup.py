"""InMemoryDedup: deduplication claims that expire."""

from __future__ import annotations

import threading

from ferry.usecases.ports import Clock


class InMemoryDedup:
    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._claims: dict[str, tuple[str, int]] = {}
        self._lock = threading.Lock()

    def claim(self, key: str, message_id: str, *, expires_at: int) -> str | None:
        with self._lock:
            earlier = self._claims.get(key)
            if earlier is not None and earlier[1] >= self._clock.now():
                return earlier[0]
            self._claims[key] = (message_id, expires_at)
            return None

    def release(self, key: str, message_id: str) -> None:
        with self._lock:
            if self._claims.get(key, ("", 0))[0] == message_id:
                del self._claims[key]
