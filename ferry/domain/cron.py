"""Unix cron as QStash reads it (`Upstash-Cron`): the parser and the parsed value.

`parse_cron` reads five unix cron fields (minute hour day-of-month month day-of-week), optionally
prefixed with `CRON_TZ=<IANA zone> `, or one of the macros `@yearly`, `@annually`, `@monthly`,
`@weekly`, `@daily`, `@midnight`, `@hourly`. A bad value raises `InvalidInput(...,
field="Upstash-Cron")` whose message names the field and the problem.

The conversion to EventBridge Scheduler is `ferry.domain.cron_aws`; the AWS cron evaluator is
`ferry.domain.cron_aws_evaluator`. croniter is the reference for unix semantics in the tests only
(`tests/support/cron_reference.py`): the runtime does not need it, so the Lambda layer does not
carry it. docs/cron.md holds the rules, the refusals and the DST behaviour in prose.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ferry.domain.errors import InvalidInput, shown

FIELD = "Upstash-Cron"
DEFAULT_TIMEZONE = "UTC"
# QStash stores at most this many characters of a cron; Ferry keeps it in the Scheduler schedule's
# Description, which has the same limit. Longer values are refused, never cut.
MAX_CRON_LENGTH = 512
# EventBridge Scheduler's CreateSchedule limit for ScheduleExpressionTimezone: 1-50 characters.
AWS_TIMEZONE_MAX_LENGTH = 50

MONTH_NAMES = {name.upper(): number for number, name in enumerate(calendar.month_abbr) if name}
UNIX_DOW_NAMES = {"SUN": 0, "MON": 1, "TUE": 2, "WED": 3, "THU": 4, "FRI": 5, "SAT": 6}
# No cron value needs more digits than this; it also keeps int() away from very long strings.
MAX_DIGITS = 4

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


@dataclass(frozen=True)
class _UnixField:
    name: str
    low: int
    high: int  # the highest value accepted as input (7 for day-of-week)
    names: dict[str, int]


_MINUTE = _UnixField("minute", 0, 59, {})
_HOUR = _UnixField("hour", 0, 23, {})
_DOM = _UnixField("day-of-month", 1, 31, {})
_MONTH = _UnixField("month", 1, 12, MONTH_NAMES)
_DOW = _UnixField("day-of-week", 0, 7, UNIX_DOW_NAMES)
_UNIX_FIELDS = (_MINUTE, _HOUR, _DOM, _MONTH, _DOW)
ALL_DOM = frozenset(range(1, 32))
ALL_DOW = frozenset(range(7))
DAYS_IN_MONTH = {m: (29 if m == 2 else calendar.monthrange(2001, m)[1]) for m in range(1, 13)}


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


def refuse(message: str) -> InvalidInput:
    return InvalidInput(f"{FIELD}: {message}", field=FIELD)


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
    zones, values over 512 characters, and day-of-month values that never occur in the selected
    months when day-of-week is unrestricted (the schedule would never fire). Whether AWS can
    express the schedule is `ferry.domain.cron_aws.to_aws`'s question, not this one's.
    """
    if not isinstance(text, str):
        raise refuse("the value is missing")
    stored = text.strip()
    if not stored:
        raise refuse(f"the value is empty; {_SYNTAX_HELP}")
    if len(stored) > MAX_CRON_LENGTH:
        raise refuse(f"the value has {len(stored)} characters; at most {MAX_CRON_LENGTH} are accepted")

    zone = DEFAULT_TIMEZONE
    rest = stored
    prefix = _TZ_PREFIX.match(rest)
    if prefix:
        key, zone = prefix["key"], prefix["zone"]
        if key != "CRON_TZ":
            raise refuse(f'write the time zone prefix as "CRON_TZ={zone}", not "{key}={zone}"')
        _check_zone(zone)
        rest = rest[prefix.end() :].strip()
        if not rest:
            raise refuse(f"nothing follows the time zone prefix; {_SYNTAX_HELP}")

    if rest.startswith("@"):
        word, *extra = rest.split()
        # ASCII only: "@wee\u212aly" (a Kelvin sign) lower-cases to "@weekly".
        macro = word.lower() if word.isascii() else word
        if macro in _MACROS and extra:
            raise refuse(f"{shown(word)} takes no fields after it; write either the macro or five fields")
        if macro not in _MACROS:
            raise refuse(
                f"{shown(word)} is not supported; the macros are " + ", ".join(_MACROS) + f". {_SYNTAX_HELP}"
            )
        rest = _MACROS[macro]

    parts = re.split(r"[ \t]+", rest)
    if len(parts) != 5:
        hint = ""
        if len(parts) == 6:
            hint = " (a sixth field for seconds or years is not supported)"
        if len(parts) == 7:
            hint = " (seconds and years are not supported)"
        raise refuse(
            f"{shown(rest)} has {len(parts)} fields, expected 5: minute hour day-of-month month "
            f"day-of-week{hint}"
        )

    minutes, hours, dom, months, dow = (
        _parse_unix_field(spec, part) for spec, part in zip(_UNIX_FIELDS, parts, strict=True)
    )
    dom_text, dow_text = parts[2], parts[4]
    # croniter (the reference): a field is a wildcard if it is "*", or if it selects every value and
    # the other day field's text contains a "*" (croniter.croniter._expand, LEN_MEANS_ALL).
    dom_restricted = not (dom_text == "*" or (dom == ALL_DOM and "*" in dow_text))
    dow_restricted = not (dow_text == "*" or (dow == ALL_DOW and "*" in dom_text))

    if dom_restricted and not dow_restricted:
        longest = max(DAYS_IN_MONTH[m] for m in months)
        if min(dom) > longest:
            raise refuse(
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
        raise refuse('CRON_TZ= needs an IANA time zone name, e.g. "CRON_TZ=Europe/Berlin"')
    if (
        len(zone) > AWS_TIMEZONE_MAX_LENGTH
        or not _ZONE_KEY.fullmatch(zone)
        or zone in _NOT_IANA_ZONES
        or zone.startswith(("posix/", "right/"))
    ):
        raise refuse(f'{shown(zone)} is not an IANA time zone name (e.g. "Europe/Berlin", "UTC")')
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise refuse(
            f'unknown time zone {shown(zone)}; use an IANA name such as "Europe/Berlin" or '
            '"America/New_York" (names are case-sensitive)'
        ) from None


def _parse_unix_field(spec: _UnixField, text: str) -> frozenset[int]:
    items = text.split(",")
    if any(not item for item in items):
        raise refuse(f"{spec.name} field {shown(text)} has an empty list item")
    if len(items) > 1 and "*" in items:
        raise refuse(f'{spec.name} field {shown(text)}: "*" cannot be combined with other values in a list')
    values: set[int] = set()
    for item in items:
        values |= _parse_unix_item(spec, text, item)
    if spec is _DOW:
        values = {0 if v == 7 else v for v in values}
    return frozenset(values)


def _unsupported(spec: _UnixField, text: str, item: str) -> str | None:
    """A specific message for the non-unix extensions people try, or None."""
    upper = item.upper()
    where = f"{spec.name} field {shown(text)}"
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
    where = f"{spec.name} field {shown(text)}"
    match = _ITEM.fullmatch(item)
    if not match:
        raise refuse(_unsupported(spec, text, item) or f"{where}: {shown(item)} is not valid; {_SYNTAX_HELP}")
    start_text, end_text, step_text = match["start"], match["end"], match["step"]
    if start_text == "*" and end_text is not None:
        raise refuse(f"{where}: {shown(item)} is not valid; write a range as a-b or a step as */n")

    step = 1
    if step_text is not None:
        if len(step_text) > MAX_DIGITS or int(step_text) == 0:
            raise refuse(f"{where}: the step in {shown(item)} must be a whole number from 1")
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
            raise refuse(f'{where}: a step cannot start at 7 ("{item}"); use 0 for Sunday')
        return set(range(low, (6 if spec is _DOW else spec.high) + 1, step))

    high = _unix_value(spec, text, item, end_text)
    if spec is _DOW and high == 0 and low > 0:
        high = 7  # "FRI-SUN", "5-0": Sunday as the end of the week (croniter agrees)
    if low > high:
        top = 6 if spec is _DOW else spec.high
        raise refuse(
            f"{where}: the range {shown(item)} runs backwards; wrap-around ranges are not supported, "
            f'write it as two ranges ("{start_text}-{top},{spec.low}-{end_text}")'
        )
    if low == high:
        # croniter reads an equal range ("5-5", "SUN-SUN") as the whole field; refuse rather than guess.
        raise refuse(
            f'{where}: the range {shown(item)} has equal ends; write the single value "{start_text}"'
        )
    return set(range(low, high + 1, step))


def _unix_value(spec: _UnixField, text: str, item: str, value: str) -> int:
    where = f"{spec.name} field {shown(text)}"
    if value.isdigit():
        number = int(value) if len(value) <= MAX_DIGITS else spec.high + 1
    else:
        number = spec.names.get(value.upper(), -1)
        if number < 0:
            reason = _unsupported(spec, text, item)
            if reason:
                raise refuse(reason)
            if spec.names:
                allowed = "JAN-DEC" if spec is _MONTH else "SUN-SAT"
                raise refuse(f"{where}: {shown(value)} is not a {spec.name} name ({allowed})")
            raise refuse(f"{where}: {shown(value)} is not a number; {spec.name} takes {spec.low}-{spec.high}")
        return number
    if not spec.low <= number <= spec.high:
        if text == value:
            raise refuse(f"{where} is out of range {spec.low}-{spec.high}")
        raise refuse(f"{where}: {value[:12]} is out of range {spec.low}-{spec.high}")
    return number
