"""A clock tests can move forward: real time plus an offset, shared by `ferry dev`'s handlers and
its scheduler ticker, so a test of a 20-minute delay takes seconds instead of 20 minutes."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator


class OffsetClock:
    def __init__(self) -> None:
        self._offset = 0.0
        self._lock = threading.Lock()

    def now(self) -> float:
        with self._lock:
            return time.time() + self._offset

    @contextlib.contextmanager
    def advanced(self, seconds: float) -> Iterator[None]:
        """Move time forward for the duration of the block, then back (signatures issued while
        advanced carry a future `iat`; nothing outside the block should verify them)."""
        with self._lock:
            self._offset += seconds
        try:
            yield
        finally:
            with self._lock:
                self._offset -= seconds
