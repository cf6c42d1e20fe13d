"""QStash cron schedules (`Upstash-Cron`) and their EventBridge Scheduler equivalents.

Three parts, all pure Python (standard library `zoneinfo`, plus `croniter` as the reference for
unix cron semantics):

* `parse_cron` reads an `Upstash-Cron` value: five unix cron fields (minute hour day-of-month month
  day-of-week), optionally prefixed with `CRON_TZ=<IANA zone> `, or one of the macros `@yearly`,
  `@annually`, `@monthly`, `@weekly`, `@daily`, `@midnight`, `@hourly`. A bad value raises
  `InvalidInput(..., field="Upstash-Cron")` whose message names the field and the problem.
* `to_aws` converts a `UnixCron` into an `AwsSchedule`: the 6-field `cron(...)` expression and the
  time zone for EventBridge Scheduler's `ScheduleExpression` / `ScheduleExpressionTimezone`. The
  conversion is exact: the AWS schedule fires at the same instants as croniter, except at DST
  transitions where EventBridge Scheduler's documented rule differs (see docs/cron.md). A schedule
  AWS cannot express (both day fields restricted: unix fires when EITHER matches) is refused.
* `AwsSchedule.next_fire_times` / `AwsSchedule.fire_times` evaluate an AWS cron expression
  independently of croniter (its own parser for `*`, `?`, ranges, `/`, lists, names, `L`, `W`,
  `#`), with EventBridge Scheduler's DST rule: a wall-clock time skipped by spring-forward does not
  fire; a wall-clock time repeated by fall-back fires once, at its first occurrence.
  `unix_fire_times` lists the unix schedule's fire times as croniter computes them.

All instants returned are timezone-aware UTC datetimes (aware datetimes sharing one `ZoneInfo`
compare by wall clock and ignore `fold`, so local datetimes would make the two occurrences of a
repeated wall-clock time compare equal).

docs/cron.md holds the rules, the refusals and the DST behaviour in prose.
"""

from __future__ import annotations

import bisect
import calendar
import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter
from croniter.croniter import CroniterError

from ferry.domain.errors import InvalidInput

FIELD = "Upstash-Cron"
DEFAULT_TIMEZONE = "UTC"
# EventBridge Scheduler's CreateSchedule limits: ScheduleExpression 1-256 characters,
# ScheduleExpressionTimezone 1-50 characters.
AWS_EXPRESSION_MAX_LENGTH = 256
AWS_TIMEZONE_MAX_LENGTH = 50

_MONTH_NAMES = {name.upper(): number for number, name in enumerate(calendar.month_abbr) if name}
_UNIX_DOW_NAMES = {"SUN": 0, "MON": 1, "TUE": 2, "WED": 3, "THU": 4, "FRI": 5, "SAT": 6}
_AWS_DOW_NAMES = {name: number + 1 for name, number in _UNIX_DOW_NAMES.items()}

_MACROS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
_SYNTAX_HELP = (
    "Upstash-Cron takes five unix cron fields (minute hour day-of-month month day-of-week) built from "
    "numbers, names (JAN-DEC, SUN-SAT), *, ranges a-b, steps */n, a-b/n, a/n and comma lists"
)
# Zone keys zoneinfo can load that are not IANA location names EventBridge would accept.
_NOT_IANA_ZONES = {"localtime", "posixrules", "Factory"}
_ZONE_KEY = re.compile(r"[A-Za-z][A-Za-z0-9_+\-]*(?:/[A-Za-z0-9_+\-]+)*", re.ASCII)
_TZ_PREFIX = re.compile(r"(?P<key>CRON_TZ|TZ)=(?P<zone>[^ \t]*)", re.ASCII)
_VALUE = r"[0-9]+|[A-Za-z]+"
_ITEM = re.compile(rf"(?P<start>\*|{_VALUE})(?:-(?P<end>{_VALUE}))?(?:/(?P<step>[0-9]+))?", re.ASCII)
# No cron value needs more digits than this; it also keeps int() away from very long strings.
_MAX_DIGITS = 4


# --- unix cron --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _UnixField:
    name: str
    low: int
    high: int  # the highest value accepted as input (7 for day-of-week)
    names: dict[str, int]


_MINUTE = _UnixField("minute", 0, 59, {})
_HOUR = _UnixField("hour", 0, 23, {})
_DOM = _UnixField("day-of-month", 1, 31, {})
_MONTH = _UnixField("month", 1, 12, _MONTH_NAMES)
_DOW = _UnixField("day-of-week", 0, 7, _UNIX_DOW_NAMES)
_UNIX_FIELDS = (_MINUTE, _HOUR, _DOM, _MONTH, _DOW)
_ALL_DOM = frozenset(range(1, 32))
_ALL_DOW = frozenset(range(7))
_DAYS_IN_MONTH = {m: (29 if m == 2 else calendar.monthrange(2001, m)[1]) for m in range(1, 13)}


@dataclass(frozen=True)
class UnixCron:
    """A parsed `Upstash-Cron` value.

    `text` is what Ferry stores and echoes back (the header value with surrounding whitespace
    removed, as QStash does); `expression` is the five fields, single-spaced, macros expanded;
    `timezone` the IANA zone (`"UTC"` unless `CRON_TZ=` says otherwise). The sets hold the values
    each field selects; `days_of_week` uses 0-6 with 0 = Sunday (an input 7 is stored as 0).

    `day_of_month_restricted` / `day_of_week_restricted` follow croniter's rule for unix cron's
    day matching: when both are true a day fires if EITHER field matches, otherwise both must
    match. A field is unrestricted when it is `*`, or when it selects every value and the other
    day field's text contains a `*` (so `*/2` is restricted, and `1-31` is restricted next to a
    day-of-week without `*`).
    """

    text: str
    expression: str
    timezone: str
    minutes: frozenset[int]
    hours: frozenset[int]
    days_of_month: frozenset[int]
    months: frozenset[int]
    days_of_week: frozenset[int]
    day_of_month_restricted: bool
    day_of_week_restricted: bool

    @property
    def fields(self) -> tuple[str, str, str, str, str]:
        minute, hour, dom, month, dow = self.expression.split(" ")
        return minute, hour, dom, month, dow


def _refuse(message: str) -> InvalidInput:
    return InvalidInput(f"{FIELD}: {message}", field=FIELD)


def _shown(text: str) -> str:
    """The user's value in double quotes, cut short if it is long (error messages echo it)."""
    text = text if len(text) <= 60 else text[:57] + "..."
    return '"' + text.replace('"', '\\"') + '"'


def parse_cron(text: str) -> UnixCron:
    """Parse an `Upstash-Cron` header value.

    Accepted: `[CRON_TZ=<IANA zone> ]<minute> <hour> <day-of-month> <month> <day-of-week>`, fields
    separated by spaces or tabs, surrounding whitespace ignored. Each field is a comma list of `*`,
    a value, a range `a-b` (a < b), or a step `*/n`, `a-b/n`, `a/n` (n >= 1; `a/n` means a, a+n, ...
    up to the field's maximum). Values: minute 0-59, hour 0-23, day-of-month 1-31, month 1-12 or
    JAN-DEC, day-of-week 0-7 (0 and 7 are Sunday) or SUN-SAT; names are case-insensitive. The
    macros `@yearly`, `@annually`, `@monthly`, `@weekly`, `@daily`, `@midnight`, `@hourly` stand
    for their five-field forms.

    Refused with `InvalidInput` naming the field and the problem: a wrong number of fields (seconds
    or years), values out of range, descending (wrap-around) ranges, ranges with equal ends
    (croniter reads `5-5` as "every minute"; write `5`), `7/n` in day-of-week, `*` inside a list,
    Quartz and Jenkins extensions (`?`, `L`, `W`, `#`, `H`), `@reboot` and `@every`, unknown time
    zones, and day-of-month values that never occur in the selected months (the schedule would
    never fire). Whether AWS can express the schedule is `to_aws`'s question, not this one's.
    """
    if not isinstance(text, str):
        raise _refuse("the value is missing")
    stored = text.strip()
    if not stored:
        raise _refuse(f"the value is empty; {_SYNTAX_HELP}")

    zone = DEFAULT_TIMEZONE
    rest = stored
    prefix = _TZ_PREFIX.match(rest)
    if prefix:
        key, zone = prefix["key"], prefix["zone"]
        if key != "CRON_TZ":
            raise _refuse(f'write the time zone prefix as "CRON_TZ={zone}", not "{key}={zone}"')
        _check_zone(zone)
        rest = rest[prefix.end() :].strip()
        if not rest:
            raise _refuse(f"nothing follows the time zone prefix; {_SYNTAX_HELP}")

    if rest.startswith("@"):
        word, *extra = rest.split()
        macro = word.lower()
        if macro in _MACROS and extra:
            raise _refuse(f"{_shown(word)} takes no fields after it; write either the macro or five fields")
        if macro not in _MACROS:
            raise _refuse(
                f"{_shown(word)} is not supported; the macros are " + ", ".join(_MACROS) + f". {_SYNTAX_HELP}"
            )
        rest = _MACROS[macro]

    parts = re.split(r"[ \t]+", rest)
    if len(parts) != 5:
        hint = ""
        if len(parts) == 6:
            hint = " (a sixth field for seconds or years is not supported)"
        if len(parts) == 7:
            hint = " (seconds and years are not supported)"
        raise _refuse(
            f"{_shown(rest)} has {len(parts)} fields, expected 5: minute hour day-of-month month "
            f"day-of-week{hint}"
        )

    minutes, hours, dom, months, dow = (
        _parse_unix_field(spec, part) for spec, part in zip(_UNIX_FIELDS, parts, strict=True)
    )
    dom_text, dow_text = parts[2], parts[4]
    # croniter (the reference): a field is a wildcard if it is "*", or if it selects every value and
    # the other day field's text contains a "*" (croniter.croniter._expand, LEN_MEANS_ALL).
    dom_restricted = not (dom_text == "*" or (dom == _ALL_DOM and "*" in dow_text))
    dow_restricted = not (dow_text == "*" or (dow == _ALL_DOW and "*" in dom_text))

    if dom_restricted and not dow_restricted:
        longest = max(_DAYS_IN_MONTH[m] for m in months)
        if min(dom) > longest:
            raise _refuse(
                f'day-of-month "{dom_text}" never occurs in month "{parts[3]}", so the schedule would '
                "never fire"
            )

    return UnixCron(
        text=stored,
        expression=" ".join(parts),
        timezone=zone,
        minutes=minutes,
        hours=hours,
        days_of_month=dom,
        months=months,
        days_of_week=dow,
        day_of_month_restricted=dom_restricted,
        day_of_week_restricted=dow_restricted,
    )


def _check_zone(zone: str) -> None:
    if not zone:
        raise _refuse('CRON_TZ= needs an IANA time zone name, e.g. "CRON_TZ=Europe/Berlin"')
    if (
        len(zone) > AWS_TIMEZONE_MAX_LENGTH
        or not _ZONE_KEY.fullmatch(zone)
        or zone in _NOT_IANA_ZONES
        or zone.startswith(("posix/", "right/"))
    ):
        raise _refuse(f'{_shown(zone)} is not an IANA time zone name (e.g. "Europe/Berlin", "UTC")')
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise _refuse(
            f'unknown time zone {_shown(zone)}; use an IANA name such as "Europe/Berlin" or '
            '"America/New_York" (names are case-sensitive)'
        ) from None


def _parse_unix_field(spec: _UnixField, text: str) -> frozenset[int]:
    items = text.split(",")
    if any(not item for item in items):
        raise _refuse(f"{spec.name} field {_shown(text)} has an empty list item")
    if len(items) > 1 and "*" in items:
        raise _refuse(f'{spec.name} field {_shown(text)}: "*" cannot be combined with other values in a list')
    values: set[int] = set()
    for item in items:
        values |= _parse_unix_item(spec, text, item)
    if spec is _DOW:
        values = {0 if v == 7 else v for v in values}
    return frozenset(values)


def _unsupported(spec: _UnixField, text: str, item: str) -> str | None:
    """A specific message for the non-unix extensions people try, or None."""
    upper = item.upper()
    where = f"{spec.name} field {_shown(text)}"
    if "?" in item:
        return f'{where}: "?" is not unix cron syntax; use "*"'
    if "#" in item:
        return f'{where}: "#" (nth weekday of the month) is not supported'
    if re.fullmatch(r"L|LW|L-[0-9]+|[0-9]+L", upper, re.ASCII):
        return f'{where}: "L" (last day) is not supported'
    if re.fullmatch(r"[0-9]+W|W[0-9]+", upper, re.ASCII):
        return f'{where}: "W" (nearest weekday) is not supported'
    if re.fullmatch(r"[HR](\([0-9]+-[0-9]+\))?(/[0-9]+)?", upper, re.ASCII):
        return f'{where}: "{item[0]}" (hashed or random values) is not supported'
    return None


def _parse_unix_item(spec: _UnixField, text: str, item: str) -> set[int]:
    where = f"{spec.name} field {_shown(text)}"
    match = _ITEM.fullmatch(item)
    if not match:
        raise _refuse(
            _unsupported(spec, text, item) or f"{where}: {_shown(item)} is not valid; {_SYNTAX_HELP}"
        )
    start_text, end_text, step_text = match["start"], match["end"], match["step"]
    if start_text == "*" and end_text is not None:
        raise _refuse(f"{where}: {_shown(item)} is not valid; write a range as a-b or a step as */n")

    step = 1
    if step_text is not None:
        if len(step_text) > _MAX_DIGITS or int(step_text) == 0:
            raise _refuse(f"{where}: the step in {_shown(item)} must be a whole number from 1")
        step = int(step_text)

    if start_text == "*":
        low, high = spec.low, (6 if spec is _DOW else spec.high)
        return set(range(low, high + 1, step))

    low = _unix_value(spec, text, item, start_text)
    if end_text is None:
        if step_text is None:
            return {low}
        # "a/n": a, a+n, ... up to the field's maximum (croniter and cronie agree).
        if spec is _DOW and low == 7:
            raise _refuse(f'{where}: a step cannot start at 7 ("{item}"); use 0 for Sunday')
        return set(range(low, (6 if spec is _DOW else spec.high) + 1, step))

    high = _unix_value(spec, text, item, end_text)
    if spec is _DOW and high == 0 and low > 0:
        high = 7  # "FRI-SUN", "5-0": Sunday as the end of the week (croniter agrees)
    if low > high:
        top = 6 if spec is _DOW else spec.high
        raise _refuse(
            f"{where}: the range {_shown(item)} runs backwards; wrap-around ranges are not supported, "
            f'write it as two ranges ("{start_text}-{top},{spec.low}-{end_text}")'
        )
    if low == high:
        # croniter reads an equal range ("5-5", "SUN-SUN") as the whole field; refuse rather than guess.
        raise _refuse(
            f'{where}: the range {_shown(item)} has equal ends; write the single value "{start_text}"'
        )
    return set(range(low, high + 1, step))


def _unix_value(spec: _UnixField, text: str, item: str, value: str) -> int:
    where = f"{spec.name} field {_shown(text)}"
    if value.isdigit():
        number = int(value) if len(value) <= _MAX_DIGITS else spec.high + 1
    else:
        number = spec.names.get(value.upper(), -1)
        if number < 0:
            reason = _unsupported(spec, text, item)
            if reason:
                raise _refuse(reason)
            if spec.names:
                allowed = "JAN-DEC" if spec is _MONTH else "SUN-SAT"
                raise _refuse(f"{where}: {_shown(value)} is not a {spec.name} name ({allowed})")
            raise _refuse(
                f"{where}: {_shown(value)} is not a number; {spec.name} takes {spec.low}-{spec.high}"
            )
        return number
    if not spec.low <= number <= spec.high:
        if text == value:
            raise _refuse(f"{where} is out of range {spec.low}-{spec.high}")
        raise _refuse(f"{where}: {value[:12]} is out of range {spec.low}-{spec.high}")
    return number


# --- conversion to EventBridge Scheduler --------------------------------------------------------------


@dataclass(frozen=True)
class AwsSchedule:
    """An EventBridge Scheduler cron schedule: `expression` is the `ScheduleExpression`
    (`cron(minutes hours day-of-month month day-of-week year)`), `timezone` the
    `ScheduleExpressionTimezone` (an IANA name).

    The evaluator parses `expression` itself (AWS syntax, not unix) and applies EventBridge
    Scheduler's DST rule; see the module docstring.
    """

    expression: str
    timezone: str = DEFAULT_TIMEZONE

    def fire_times(self, start: datetime, end: datetime) -> Iterator[datetime]:
        """The instants in `[start, end)` at which the schedule fires, ascending, as UTC datetimes
        (lazily: take what you need with `itertools.islice`)."""
        start_utc, end_utc = _as_utc(start, "start"), _as_utc(end, "end")
        instants = _aws_instants(_parse_aws(self.expression), ZoneInfo(self.timezone), start_utc)
        return itertools.takewhile(lambda instant: instant < end_utc, instants)

    def next_fire_times(self, after: datetime, count: int) -> list[datetime]:
        """The next `count` instants strictly after `after` (fewer if the schedule ends, e.g. a year
        list in the past), ascending, as UTC datetimes."""
        if count < 0:
            raise ValueError("count must not be negative")
        after_utc = _as_utc(after, "after")
        found: list[datetime] = []
        if count == 0:
            return found
        for instant in _aws_instants(_parse_aws(self.expression), ZoneInfo(self.timezone), after_utc):
            if instant > after_utc:
                found.append(instant)
                if len(found) == count:
                    break
        return found


def to_aws(cron: UnixCron) -> AwsSchedule:
    """The EventBridge Scheduler schedule that fires when `cron` does (see docs/cron.md).

    Field by field: the selected values are written out in AWS syntax (`*`, `a/n`, ranges `a-b`,
    lists); day-of-week is renumbered to AWS's 1-7 = SUN-SAT and never uses `/` (AWS documents no
    step for that field), so steps and `a-7` ranges become lists. The unrestricted day field
    becomes `?` (day-of-month `*` and day-of-week `?` when neither is restricted); the year is `*`.

    Refused with `InvalidInput`: both day fields restricted (unix fires on days matching EITHER
    field; AWS allows only one day field). A guard also refuses expressions over EventBridge's
    256-character limit, though none can reach it (the longest conversion is about 240 characters).
    """
    if cron.day_of_month_restricted and cron.day_of_week_restricted:
        raise _refuse(_or_message(cron))
    minute = _aws_field(cron.minutes, 0, 59)
    hour = _aws_field(cron.hours, 0, 23)
    month = _aws_field(cron.months, 1, 12)
    if cron.day_of_week_restricted:
        dom = "?"
        dow = _aws_field(frozenset(d + 1 for d in cron.days_of_week), 1, 7, steps=False)
    else:
        dom = _aws_field(cron.days_of_month, 1, 31) if cron.day_of_month_restricted else "*"
        dow = "?"
    expression = f"cron({minute} {hour} {dom} {month} {dow} *)"
    if len(expression) > AWS_EXPRESSION_MAX_LENGTH:
        raise _refuse(
            f"the schedule needs an EventBridge expression of {len(expression)} characters, over the "
            f"{AWS_EXPRESSION_MAX_LENGTH}-character limit; use fewer separate values (ranges and steps "
            "are shorter)"
        )
    return AwsSchedule(expression=expression, timezone=cron.timezone)


def _or_message(cron: UnixCron) -> str:
    _, _, dom, _, dow = cron.fields
    notes = []
    for text, values, full, other in (
        (dom, cron.days_of_month, _ALL_DOM, dow),
        (dow, cron.days_of_week, _ALL_DOW, dom),
    ):
        if text.startswith("*") and values != full:
            notes.append(f'"{text}" counts as restricted because it does not select every day')
        elif values == full:
            notes.append(
                f'"{text}" selects every value but counts as restricted because "{other}" contains no "*"; '
                'write "*" if any day is meant'
            )
    note = f" ({'; '.join(notes)})" if notes else ""
    return (
        f'{_shown(cron.text)} restricts both day-of-month ("{dom}") and day-of-week ("{dow}"){note}. In '
        "unix cron such a schedule fires on days matching EITHER field, which EventBridge Scheduler cannot "
        "express (it allows only one of the two day fields). Split it into two schedules: one with "
        f'day-of-month "{dom}" and day-of-week "*", and one with day-of-month "*" and day-of-week "{dow}" '
        "(a day matching both fields then fires in each)"
    )


def _aws_field(values: frozenset[int], low: int, high: int, *, steps: bool = True) -> str:
    """Write a set of values compactly in AWS syntax, selecting exactly `values`."""
    ordered = sorted(values)
    if len(ordered) == high - low + 1:
        return "*"
    if steps and len(ordered) >= 3:
        step = ordered[1] - ordered[0]
        progression = all(b - a == step for a, b in itertools.pairwise(ordered))
        # AWS "a/n" is a, a+n, ... up to the field's maximum: usable when the progression runs to the end.
        if progression and step > 1 and ordered[-1] + step > high:
            return f"{ordered[0]}/{step}"
    parts: list[str] = []
    run_start = previous = ordered[0]
    for value in [*ordered[1:], None]:
        if value is not None and value == previous + 1:
            previous = value
            continue
        if previous - run_start >= 2:
            parts.append(f"{run_start}-{previous}")
        else:
            parts.extend(str(v) for v in range(run_start, previous + 1))
        if value is not None:
            run_start = previous = value
    return ",".join(parts)


# --- unix fire times (croniter) ---------------------------------------------------------------------


def unix_fire_times(cron: UnixCron, start: datetime, end: datetime) -> Iterator[datetime]:
    """The instants in `[start, end)` at which unix cron (as croniter computes it, in the schedule's
    time zone) fires, ascending, as UTC datetimes.

    At DST transitions croniter differs from EventBridge Scheduler: for a wall-clock time skipped by
    spring-forward it may fire at the end of the gap, and for a repeated wall-clock time it fires at
    both occurrences. What EventBridge will actually do is `to_aws(cron).fire_times(start, end)`.
    """
    start_utc, end_utc = _as_utc(start, "start"), _as_utc(end, "end")
    zone = ZoneInfo(cron.timezone)
    iterator = croniter(
        cron.expression, (start_utc - timedelta(minutes=1)).astimezone(zone), ret_type=datetime
    )
    return _croniter_instants(iterator, start_utc, end_utc)


def _croniter_instants(iterator: croniter, start_utc: datetime, end_utc: datetime) -> Iterator[datetime]:
    while True:
        try:
            instant = iterator.get_next().astimezone(UTC)
        except CroniterError:
            return
        if instant >= end_utc:
            return
        if instant >= start_utc:
            yield instant


def _as_utc(moment: datetime, name: str) -> datetime:
    if not isinstance(moment, datetime) or moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime")
    return moment.astimezone(UTC)


# --- AWS cron evaluator -----------------------------------------------------------------------------


class AwsCronError(ValueError):
    """An AWS cron expression this evaluator cannot read (malformed, or syntax AWS does not document)."""


@dataclass(frozen=True)
class _AwsDays:
    """One of the two AWS day fields. `any` for `*` (or `?`); otherwise the plain values plus the
    special forms: day-of-month `L` (last day), `LW` (last weekday), `nW` (weekday nearest day n);
    day-of-week `nL` (last weekday n of the month, `L` alone is Saturday), `n#k` (k-th weekday n)."""

    any: bool
    values: frozenset[int] = frozenset()
    last_day: bool = False
    last_weekday: bool = False
    nearest_weekday: frozenset[int] = frozenset()
    last_of: frozenset[int] = frozenset()
    nth: frozenset[tuple[int, int]] = frozenset()


@dataclass(frozen=True)
class _AwsCron:
    minutes: tuple[int, ...]
    hours: tuple[int, ...]
    dom: _AwsDays
    months: frozenset[int]
    dow: _AwsDays
    years: frozenset[int] | None  # None for "*"
    times: tuple[timedelta, ...]  # the times of day (hours x minutes) after midnight, ascending


_AWS_MIN_YEAR, _AWS_MAX_YEAR = 1970, 2199
_AWS_CRON = re.compile(r"cron\((?P<body>[^()]*)\)", re.ASCII)


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
        dom=_aws_dom(dom),
        months=frozenset(_aws_values(month, "month", 1, 12, _MONTH_NAMES)),
        dow=_aws_dow(dow),
        years=years,
        times=tuple(timedelta(hours=h, minutes=m) for h in hours for m in minutes),
    )


def _aws_number(text: str, field: str, low: int, high: int, names: dict[str, int]) -> int:
    if text.isdigit() and len(text) <= _MAX_DIGITS:
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
    """The values of a plain AWS field: comma list of `*`, `v`, `v-w`, `*/n`, `v/n`, `v-w/n`."""
    values: set[int] = set()
    for item in text.split(","):
        base, slash, step_text = item.partition("/")
        step = 1
        if slash:
            if not steps:
                raise AwsCronError(f"{field}: '/' is not documented for this field ({item!r})")
            if not step_text.isdigit() or int(step_text) == 0 or len(step_text) > _MAX_DIGITS:
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


def _aws_dom(text: str) -> _AwsDays:
    if text in ("?", "*"):
        return _AwsDays(any=True)
    values: set[int] = set()
    last_day = last_weekday = False
    nearest: set[int] = set()
    for item in text.split(","):
        upper = item.upper()
        if upper == "L":
            last_day = True
        elif upper == "LW":
            last_weekday = True
        elif upper.endswith("W") and upper[:-1].isdigit():
            nearest.add(_aws_number(upper[:-1], "day-of-month", 1, 31, {}))
        else:
            values |= _aws_values(item, "day-of-month", 1, 31, {})
    return _AwsDays(
        any=False,
        values=frozenset(values),
        last_day=last_day,
        last_weekday=last_weekday,
        nearest_weekday=frozenset(nearest),
    )


def _aws_dow(text: str) -> _AwsDays:
    if text in ("?", "*"):
        return _AwsDays(any=True)
    if "#" in text:
        if "," in text:
            raise AwsCronError(f"day-of-week: '#' allows only one expression in the field ({text!r})")
        day, _, nth = text.partition("#")
        weekday = _aws_number(day, "day-of-week", 1, 7, _AWS_DOW_NAMES)
        if not nth.isdigit() or not 1 <= int(nth) <= 5:
            raise AwsCronError(f"day-of-week: {text!r} needs an instance 1-5 after '#'")
        return _AwsDays(any=False, nth=frozenset({(weekday, int(nth))}))
    values: set[int] = set()
    last_of: set[int] = set()
    for item in text.split(","):
        upper = item.upper()
        if upper == "L":
            values.add(7)  # "L" alone in day-of-week is the last day of the week, Saturday
        elif upper.endswith("L") and len(upper) > 1:
            last_of.add(_aws_number(upper[:-1], "day-of-week", 1, 7, _AWS_DOW_NAMES))
        else:
            values |= _aws_values(item, "day-of-week", 1, 7, _AWS_DOW_NAMES, steps=False)
    return _AwsDays(any=False, values=frozenset(values), last_of=frozenset(last_of))


def _nearest_weekday(year: int, month: int, day: int, days_in_month: int) -> int | None:
    """The weekday (Mon-Fri) nearest to `day`, not leaving the month (Quartz's `W`)."""
    if day > days_in_month:
        return None
    weekday = calendar.weekday(year, month, day)  # Monday = 0
    if weekday == 5:  # Saturday: the Friday before, or the Monday after if the 1st is a Saturday
        return day - 1 if day > 1 else day + 2
    if weekday == 6:  # Sunday: the Monday after, or the Friday before if it is the last day
        return day + 1 if day < days_in_month else day - 2
    return day


def _last_weekday(year: int, month: int, days_in_month: int) -> int:
    weekday = calendar.weekday(year, month, days_in_month)
    return days_in_month - max(0, weekday - 4)


def _dom_matches(days: _AwsDays, year: int, month: int, day: int, days_in_month: int) -> bool:
    if days.any or day in days.values:
        return True
    if days.last_day and day == days_in_month:
        return True
    if days.last_weekday and day == _last_weekday(year, month, days_in_month):
        return True
    return any(_nearest_weekday(year, month, n, days_in_month) == day for n in days.nearest_weekday)


def _dow_matches(days: _AwsDays, weekday: int, day: int, days_in_month: int) -> bool:
    """`weekday` in AWS numbering (1 = Sunday ... 7 = Saturday)."""
    if days.any or weekday in days.values:
        return True
    if weekday in days.last_of and day + 7 > days_in_month:
        return True
    return (weekday, (day - 1) // 7 + 1) in days.nth


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
                python_weekday = (first_weekday + day - 1) % 7
                aws_weekday = (python_weekday + 1) % 7 + 1  # Sunday = 1 ... Saturday = 7
                if _dom_matches(cron.dom, year, month, day, days_in_month) and _dow_matches(
                    cron.dow, aws_weekday, day, days_in_month
                ):
                    yield date(year, month, day)


def _offset(wall: datetime, zone: ZoneInfo, fold: int) -> timedelta:
    offset = wall.replace(tzinfo=zone, fold=fold).utcoffset()
    assert offset is not None
    return offset


def _aws_instants(cron: _AwsCron, zone: ZoneInfo, start: datetime) -> Iterator[datetime]:
    """Fire instants at or after `start` (UTC), ascending.

    EventBridge Scheduler's DST rule: a wall-clock time that does not exist (skipped by
    spring-forward) does not fire; a wall-clock time that occurs twice (fall-back) fires once, at
    its first occurrence. With that rule the instants follow wall-clock order, so days and times can
    be walked in order.
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
