"""Polling with a deadline: integration tests wait for an outcome, never for a fixed time."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_until(
    probe: Callable[[], T],
    *,
    timeout: float = 20.0,
    interval: float = 0.1,
    what: str = "condition",
    explain: Callable[[], str] | None = None,
) -> T:
    """`explain`, if given, is called once on timeout: what the failure message should also show
    (an execution's history, say), read at the moment the wait gave up."""
    deadline = time.time() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.time() > deadline:
            context = f"\n{explain()}" if explain is not None else ""
            raise AssertionError(
                f"timed out after {timeout}s waiting for {what}; last value: {value!r}{context}"
            )
        time.sleep(interval)
