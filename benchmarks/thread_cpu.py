"""Thread CPU inside one object's method, measured in place: how benchmarks/dev_handler_overhead.py
splits a run's CPU into its AWS calls, the HTTP exchanges and the rest, and how
benchmarks/dev_load_breakdown.py splits ferry dev's AWS calls by thread role and operation.

`time.thread_time` around each call, in the calling thread, summed over threads: work the call
hands to another thread (none of the measured methods does) would not be counted.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Hashable
from typing import Any

# What a call is counted under: made from its positional arguments (and the calling thread).
Key = Callable[[tuple[Any, ...]], Hashable]


class ThreadCpu:
    """The CPU of the threads inside `owner.name` (still called as before), summed over calls, and
    the positional arguments of the last call: an instance attribute in front of the class's
    method, so only this object is measured, until `remove`. With `key`, the CPU and the number
    of calls are also kept under each call's key (`take_by_key`)."""

    def __init__(self, owner: Any, name: str, key: Key | None = None) -> None:
        self.last_args: tuple[Any, ...] = ()
        self._seconds = 0.0
        self._by_key: Counter[Hashable] = Counter()
        self._calls: Counter[Hashable] = Counter()
        self._lock = threading.Lock()
        self._owner, self._name = owner, name
        method = getattr(owner, name)

        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.thread_time()
            try:
                return method(*args, **kwargs)
            finally:
                spent = time.thread_time() - started
                counted = None if key is None else key(args)
                with self._lock:
                    self._seconds += spent
                    self.last_args = args
                    if key is not None:
                        self._by_key[counted] += spent
                        self._calls[counted] += 1

        setattr(owner, name, timed)

    def take_ms(self) -> float:
        """The CPU milliseconds since the last take."""
        with self._lock:
            seconds, self._seconds = self._seconds, 0.0
        return seconds * 1000

    def take_by_key(self) -> tuple[Counter[Hashable], Counter[Hashable]]:
        """CPU seconds and calls by key since the last take (empty without `key`)."""
        with self._lock:
            taken = self._by_key, self._calls
            self._by_key, self._calls = Counter(), Counter()
        return taken

    def remove(self) -> None:
        """The class's method again."""
        delattr(self._owner, self._name)


class CallsCpu:
    """The CPU of the threads inside the AWS calls of `clients` (botocore's `_make_api_call`:
    parameter validation, the emulator's work, parsing the answer); with `key`, by key as well
    (`_make_api_call`'s positional arguments are the operation's name and its parameters). A
    client given twice is measured once."""

    def __init__(self, clients: list[Any], key: Key | None = None) -> None:
        unique = {id(client): client for client in clients}.values()
        self._each = [ThreadCpu(client, "_make_api_call", key) for client in unique]

    def take_ms(self) -> float:
        return sum(each.take_ms() for each in self._each)

    def take_by_key(self) -> tuple[Counter[Hashable], Counter[Hashable]]:
        seconds: Counter[Hashable] = Counter()
        calls: Counter[Hashable] = Counter()
        for each in self._each:
            each_seconds, each_calls = each.take_by_key()
            seconds.update(each_seconds)
            calls.update(each_calls)
        return seconds, calls

    def remove(self) -> None:
        for each in self._each:
            each.remove()
