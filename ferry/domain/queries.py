"""Filters and cursors for listing logs, DLQ entries and messages. `ferry.api.requests` parses the
QStash query parameters into a Query.

Filters: OR within one parameter (repeated or comma-separated values), AND across parameters.
Cursors are numeric strings (a millisecond time), because the JS SDK's documented loop runs
`while (cursor > 0)`; a page always ends on a millisecond boundary so nothing is skipped.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar


@dataclass(frozen=True)
class Query:
    filters: dict[str, tuple[str, ...]] = field(default_factory=dict)
    from_ms: int | None = None
    to_ms: int | None = None
    count: int = 100
    cursor: int | None = None

    def upper_bound_ms(self) -> int | None:
        """Newest time to include: the cursor is exclusive, toDate inclusive."""
        bounds = [b for b in (self.to_ms, None if self.cursor is None else self.cursor - 1) if b is not None]
        return min(bounds) if bounds else None

    def matches(self, item: Mapping[str, Any]) -> bool:
        for attribute, wanted in self.filters.items():
            value = item.get(attribute)
            if attribute == "labels":
                if not set(value or ()) & set(wanted):
                    return False
            elif value is None or str(value) not in wanted:
                return False
        return True


class Timed(Protocol):
    """A listed record (log event, DLQ entry): it has a time in unix ms."""

    @property
    def time_ms(self) -> int: ...


Item = TypeVar("Item", bound=Timed)


def page(items: list[Item], count: int) -> tuple[list[Item], str | None]:
    """Cut newest-first `items` to about `count`, ending on a millisecond boundary; return the
    page and the cursor of the next one (None on the last page)."""
    if len(items) <= count:
        return items, None
    last_time = items[count - 1].time_ms
    cut = count
    while cut < len(items) and items[cut].time_ms == last_time:
        cut += 1
    if cut >= len(items):
        return items, None
    return items[:cut], str(last_time)
