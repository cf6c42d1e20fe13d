"""Filters and cursors for listing logs, DLQ entries and messages (QStash query parameters).

Filters: OR within one parameter (repeated or comma-separated values), AND across parameters.
Cursors are numeric strings (a millisecond time), because the JS SDK's documented loop runs
`while (cursor > 0)`; a page always ends on a millisecond boundary so nothing is skipped.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from ferry.domain.errors import InvalidInput

# QStash query parameter -> attribute of a stored log event / DLQ entry.
FILTER_FIELDS = {
    "messageId": "messageId",
    "messageIds": "messageId",
    "dlqIds": "dlqId",
    "state": "state",
    "url": "url",
    "topicName": "topicName",
    "queueName": "queueName",
    "scheduleId": "scheduleId",
    "label": "labels",
    "responseStatus": "responseStatus",
    "callerIp": "callerIp",
    "flowControlKey": "flowControlKey",
}
# Parameters that are not filters but may accompany them.
CONTROL_PARAMETERS = frozenset({"fromDate", "toDate", "count", "cursor", "order", "qstash_token"})
# IN_PROGRESS is a filter value meaning "being worked on"; CANCELLED is the docs' spelling.
STATE_ALIASES = {"IN_PROGRESS": ("ACTIVE", "RETRY", "ERROR"), "CANCELLED": ("CANCELED",)}


def _values(raw: Sequence[str] | str | None) -> list[str]:
    if raw is None:
        return []
    items = [raw] if isinstance(raw, str) else list(raw)
    return [part.strip() for item in items for part in item.split(",") if part.strip()]


def _millis(name: str, raw: list[str]) -> int | None:
    if not raw:
        return None
    try:
        return int(raw[0])
    except ValueError:
        raise InvalidInput(f"{name}: {raw[0]!r} is not a unix time in milliseconds", field=name) from None


@dataclass(frozen=True)
class Query:
    filters: dict[str, tuple[str, ...]] = field(default_factory=dict)
    from_ms: int | None = None
    to_ms: int | None = None
    count: int = 100
    cursor: int | None = None

    @classmethod
    def parse(cls, params: Mapping[str, Sequence[str] | str], *, max_count: int = 1000) -> Query:
        for name in params:
            # An unknown filter must not silently widen a selection (a bulk cancel would hit everything).
            if name not in FILTER_FIELDS and name not in CONTROL_PARAMETERS:
                known = ", ".join(sorted(FILTER_FIELDS))
                raise InvalidInput(f"{name} is not a filter Ferry supports; use one of: {known}", field=name)
        filters: dict[str, tuple[str, ...]] = {}
        for name, attribute in FILTER_FIELDS.items():
            values = _values(params.get(name))
            if not values:
                continue
            if name == "state":
                values = [alias for v in values for alias in STATE_ALIASES.get(v.upper(), (v.upper(),))]
            filters[attribute] = tuple(sorted(set(filters.get(attribute, ()) + tuple(values))))
        count_raw = _values(params.get("count"))
        count = 100
        if count_raw:
            try:
                count = int(count_raw[0])
            except ValueError:
                raise InvalidInput(f"count: {count_raw[0]!r} is not a whole number", field="count") from None
            if not 1 <= count <= max_count:
                raise InvalidInput(f"count: use 1 to {max_count}", field="count")
        cursor_raw = _values(params.get("cursor"))
        cursor = None
        if cursor_raw:
            try:
                cursor = int(cursor_raw[0])
            except ValueError:
                raise InvalidInput(
                    f"cursor: {cursor_raw[0]!r} is not a cursor Ferry returned", field="cursor"
                ) from None
        return cls(
            filters=filters,
            from_ms=_millis("fromDate", _values(params.get("fromDate"))),
            to_ms=_millis("toDate", _values(params.get("toDate"))),
            count=count,
            cursor=cursor,
        )

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
