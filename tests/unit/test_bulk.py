"""Bulk operations: every item once, results in item order, and a time budget that stops new work."""

from __future__ import annotations

import threading

import pytest

from ferry.usecases.bulk import run_bulk


class SteppingClock:
    """Time advances only when an operation runs: one second each."""

    def __init__(self) -> None:
        self._now = 1_000.0
        self._lock = threading.Lock()

    def now(self) -> float:
        with self._lock:
            return self._now

    def step(self) -> None:
        with self._lock:
            self._now += 1


def test_every_item_runs_once_and_results_keep_item_order():
    clock = SteppingClock()
    run = run_bulk(range(100), lambda n: n * n, clock=clock, budget_seconds=20)
    assert run.complete
    assert run.results == [n * n for n in range(100)]


def test_no_item_starts_after_the_budget_and_the_result_says_incomplete():
    clock = SteppingClock()
    started: list[int] = []

    def operation(n: int) -> int:
        started.append(n)
        clock.step()
        return n

    run = run_bulk(range(1_000), operation, clock=clock, budget_seconds=5, workers=1)
    assert not run.complete
    assert run.results == list(range(len(run.results)))
    # With one worker, one item may be in flight when the budget runs out.
    assert 5 <= len(started) <= 6 and len(run.results) == len(started)


def test_an_empty_selection_is_complete():
    assert run_bulk([], lambda n: n, clock=SteppingClock(), budget_seconds=0).complete


def test_an_operation_error_reaches_the_caller():
    def operation(n: int) -> int:
        if n == 3:
            raise RuntimeError("dynamodb unavailable")
        return n

    with pytest.raises(RuntimeError, match="dynamodb unavailable"):
        run_bulk(range(10), operation, clock=SteppingClock(), budget_seconds=20)
