"""An evaluator of EventBridge Scheduler cron expressions, independent of any unix cron library.

It reads what `ferry.domain.cron_aws.to_aws` writes (`cron(minutes hours day-of-month month
day-of-week year)` with `*`, `?`, values, names, ranges, increments and lists) and nothing more:
the `L`, `W` and `#` forms AWS also documents are never emitted, so they are refused here like any
other unknown syntax. It applies EventBridge Scheduler's DST rule: a wall-clock time skipped by
spring-forward does not fire; a wall-clock time repeated by fall-back fires once, at its first
occurrence.

All instants are timezone-aware UTC datetimes (aware datetimes sharing one `ZoneInfo` compare by
wall clock and ignore `fold`, so local datetimes would make the two occurrences of a repeated
wall-clock time compare equal).
"""

from __future__ import annotations

import bisect
import calendar
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from ferry.domain.cron import MAX_DIGITS, MONTH_NAMES, UNIX_DOW_NAMES

_AWS_DOW_NAMES = {name: number + 1 for name, number in UNIX_DOW_NAMES.items()}
_AWS_MIN_YEAR, _AWS_MAX_YEAR = 1970, 2199
_AWS_CRON = re.compile(r"cron\((?P<body>[^()]*)\)", re.ASCII)


class AwsCronError(ValueError):
    """An AWS cron expression this evaluator cannot read (malformed, or syntax Ferry never writes)."""


@dataclass(frozen=True)
class _AwsCron:
    minutes: tuple[int, ...]
    hours: tuple[int, ...]
    days_of_month: frozenset[int] | None  # None for "*" or "?"
    months: frozenset[int]
    days_of_week: frozenset[int] | None  # AWS numbering, 1 = Sunday; None for "*" or "?"
    years: frozenset[int] | None  # None for "*"
    times: tuple[timedelta, ...]  # the times of day (hours x minutes) after midnight, ascending


def as_utc(moment: datetime, name: str) -> datetime:
    if not isinstance(moment, datetime) or moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime")
    return moment.astimezone(UTC)


def aws_instants(expression: str, timezone: str, start: datetime) -> Iterator[datetime]:
    """The instants at or after `start` (aware) at which the expression fires, ascending, in UTC."""
    return _instants(_parse_aws(expression), ZoneInfo(timezone), as_utc(start, "start"))


@lru_cache(maxsize=1024)
def _parse_aws(expression: str) -> _AwsCron:
    match = _AWS_CRON.fullmatch(expression.strip())
    if not match:
        raise AwsCronError(f"{expression!r} is not a cron(...) expression")
    parts = match["body"].split()
    if len(parts) != 6:
        raise AwsCronError(f"{expression!r} has {len(parts)} fields, expected 6")
    minute, hour, dom, month, dow, year = parts
    if (dom == "?") == (dow == "?"):
        raise AwsCronError(f"{expression!r}: exactly one of day-of-month and day-of-week must be '?'")
    years = None if year == "*" else frozenset(_aws_values(year, "year", _AWS_MIN_YEAR, _AWS_MAX_YEAR, {}))
    minutes = tuple(sorted(_aws_values(minute, "minutes", 0, 59, {})))
    hours = tuple(sorted(_aws_values(hour, "hours", 0, 23, {})))
    return _AwsCron(
        minutes=minutes,
        hours=hours,
        days_of_month=None if dom in ("?", "*") else frozenset(_aws_values(dom, "day-of-month", 1, 31, {})),
        months=frozenset(_aws_values(month, "month", 1, 12, MONTH_NAMES)),
        days_of_week=None
        if dow in ("?", "*")
        else frozenset(_aws_values(dow, "day-of-week", 1, 7, _AWS_DOW_NAMES, steps=False)),
        years=years,
        times=tuple(timedelta(hours=h, minutes=m) for h in hours for m in minutes),
    )


def _aws_number(text: str, field: str, low: int, high: int, names: dict[str, int]) -> int:
    if text.isdigit() and len(text) <= MAX_DIGITS:
        number = int(text)
    elif text.upper() in names:
        number = names[text.upper()]
    else:
        raise AwsCronError(f"{field}: {text!r} is not a value")
    if not low <= number <= high:
        raise AwsCronError(f"{field}: {number} is out of range {low}-{high}")
    return number


def _aws_values(
    text: str, field: str, low: int, high: int, names: dict[str, int], *, steps: bool = True
) -> set[int]:
    """The values of an AWS field: comma list of `*`, `v`, `v-w`, `*/n`, `v/n`, `v-w/n`."""
    values: set[int] = set()
    for item in text.split(","):
        base, slash, step_text = item.partition("/")
        step = 1
        if slash:
            if not steps:
                raise AwsCronError(f"{field}: '/' is not documented for this field ({item!r})")
            if not step_text.isdigit() or int(step_text) == 0 or len(step_text) > MAX_DIGITS:
                raise AwsCronError(f"{field}: bad increment in {item!r}")
            step = int(step_text)
        if base == "*":
            first, last = low, high
        elif "-" in base:
            a, _, b = base.partition("-")
            first, last = _aws_number(a, field, low, high, names), _aws_number(b, field, low, high, names)
            if first > last:
                raise AwsCronError(f"{field}: wrap-around range {item!r} is not supported")
        else:
            first = _aws_number(base, field, low, high, names)
            last = high if slash else first
        values.update(range(first, last + 1, step))
    return values


def _matching_days(cron: _AwsCron, first: date) -> Iterator[date]:
    """The local dates from `first` on (to the end of AWS's year range) whose day fields match."""
    for year in range(first.year, _AWS_MAX_YEAR + 1):
        if cron.years is not None and year not in cron.years:
            continue
        for month in range(1, 13):
            if month not in cron.months or (year, month) < (first.year, first.month):
                continue
            days_in_month = calendar.monthrange(year, month)[1]
            first_weekday = calendar.weekday(year, month, 1)  # Monday = 0 ... Sunday = 6
            start_day = first.day if (year, month) == (first.year, first.month) else 1
            for day in range(start_day, days_in_month + 1):
                if cron.days_of_month is not None and day not in cron.days_of_month:
                    continue
                python_weekday = (first_weekday + day - 1) % 7
                aws_weekday = (python_weekday + 1) % 7 + 1  # Sunday = 1 ... Saturday = 7
                if cron.days_of_week is None or aws_weekday in cron.days_of_week:
                    yield date(year, month, day)


def _offset(wall: datetime, zone: ZoneInfo, fold: int) -> timedelta:
    offset = wall.replace(tzinfo=zone, fold=fold).utcoffset()
    assert offset is not None
    return offset


def _instants(cron: _AwsCron, zone: ZoneInfo, start: datetime) -> Iterator[datetime]:
    """Fire instants at or after `start` (UTC), ascending.

    With EventBridge Scheduler's DST rule (module docstring) the instants follow wall-clock order,
    so days and times can be walked in order.
    """
    times = cron.times
    first_day = start.astimezone(zone).date() - timedelta(days=1)
    for day in _matching_days(cron, first_day):
        midnight = datetime(day.year, day.month, day.day)
        base = _offset(midnight, zone, 0)
        steady = all(
            _offset(wall, zone, fold) == base
            for wall in (midnight, midnight + timedelta(hours=12), midnight + timedelta(days=1))
            for fold in (0, 1)
        )
        if steady:  # no transition today: one offset for the whole day
            midnight_utc = (midnight - base).replace(tzinfo=UTC)
            for delta in times[bisect.bisect_left(times, start - midnight_utc) :]:
                yield midnight_utc + delta
            continue
        for delta in times:
            wall = midnight + delta
            instant = wall.replace(tzinfo=zone, fold=0).astimezone(UTC)  # fold=0: the first occurrence
            if instant.astimezone(zone).replace(tzinfo=None) != wall:
                continue  # skipped by spring-forward
            if instant >= start:
                yield instant
