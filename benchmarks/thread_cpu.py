"""Thread CPU inside one object's method, measured in place: how benchmarks/dev_handler_overhead.py
splits a run's CPU into its AWS calls, the HTTP exchanges and the rest.

`time.thread_time` around each call, in the calling thread, summed over threads: work the call
hands to another thread (none of the measured methods does) would not be counted.
"""

from __future__ import annotations

import threading
import time
from typing import Any


class ThreadCpu:
    """The CPU of the threads inside `owner.name` (still called as before), summed over calls, and
    the positional arguments of the last call: an instance attribute in front of the class's
    method, so only this object is measured, until `remove`."""

    def __init__(self, owner: Any, name: str) -> None:
        self.last_args: tuple[Any, ...] = ()
        self._seconds = 0.0
        self._lock = threading.Lock()
        self._owner, self._name = owner, name
        method = getattr(owner, name)

        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.thread_time()
            try:
                return method(*args, **kwargs)
            finally:
                spent = time.thread_time() - started
                with self._lock:
                    self._seconds += spent
                    self.last_args = args

        setattr(owner, name, timed)

    def take_ms(self) -> float:
        """The CPU milliseconds since the last take."""
        with self._lock:
            seconds, self._seconds = self._seconds, 0.0
        return seconds * 1000

    def remove(self) -> None:
        """The class's method again."""
        delattr(self._owner, self._name)


class CallsCpu:
    """The CPU of the threads inside the AWS calls of `clients` (botocore's `_make_api_call`:
    parameter validation, the emulator's work, parsing the answer)."""

    def __init__(self, clients: list[Any]) -> None:
        self._each = [ThreadCpu(client, "_make_api_call") for client in clients]

    def take_ms(self) -> float:
        return sum(each.take_ms() for each in self._each)

    def remove(self) -> None:
        for each in self._each:
            each.remove()
