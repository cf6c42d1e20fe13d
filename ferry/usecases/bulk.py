"""Bulk operations inside one API request: items run in parallel, and no new item starts once the
time budget is spent, so the answer arrives before API Gateway's 30 s integration timeout. The
caller sees how many were done and whether the selection was exhausted; repeating the call
continues where it stopped (every bulk operation skips what it already did)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Generic, TypeVar

from ferry.usecases.ports import Clock

Item = TypeVar("Item")
Result = TypeVar("Result")

# Parallel requests to DynamoDB/SQS per bulk call (boto3 clients are thread-safe).
WORKERS = 16


@dataclass(frozen=True)
class BulkResult(Generic[Result]):
    results: list[Result]  # in the order of the items
    complete: bool  # False when the time budget ran out before every item was started


def run_bulk(
    items: Iterable[Item],
    operation: Callable[[Item], Result],
    *,
    clock: Clock,
    budget_seconds: float,
    workers: int = WORKERS,
) -> BulkResult[Result]:
    deadline = clock.now() + budget_seconds
    iterator = iter(enumerate(items))
    done: dict[int, Result] = {}
    pending: dict[Future[Result], int] = {}
    exhausted = out_of_time = False
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="ferry-bulk") as pool:
        while True:
            while not exhausted and not out_of_time and len(pending) < 2 * workers:
                try:
                    index, item = next(iterator)
                except StopIteration:
                    exhausted = True
                    break
                if clock.now() >= deadline:
                    out_of_time = True  # this item and the rest stay for a repeat of the call
                    break
                pending[pool.submit(operation, item)] = index
            if not pending:
                break
            finished, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in finished:
                done[pending.pop(future)] = future.result()
    return BulkResult(results=[done[i] for i in sorted(done)], complete=exhausted)
