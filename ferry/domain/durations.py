"""Durations as QStash spells them.

Two syntaxes travel on the wire:

* `parse_duration` reads the publish headers (`Upstash-Delay`, `Upstash-Timeout`, callback delays,
  the flow-control `period`): whole numbers with the units `s`, `m`, `h`, `d`, or a bare number of
  seconds. A bad value is the caller's mistake, so it raises `InvalidInput` naming the header.
* `parse_go_duration` reads what a destination sends back in `Retry-After`-style headers, in Go's
  `time.ParseDuration` syntax (`"6m5s"`, `"1.5h"`, `"300ms"`). A bad value there is not the
  publisher's mistake, so it raises a plain `ValueError` and the caller ignores the header.

Pure standard library; no I/O.
"""

from __future__ import annotations

import math
import re

from ferry.domain.errors import InvalidInput, shown

# The longest duration `parse_duration` accepts: 10 years of 365 days. Plan limits (7 days, 1 year)
# are applied by the callers; this bound only refuses values that cannot be meant.
MAX_DURATION_SECONDS = 10 * 365 * 86_400

_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3_600, "d": 86_400}
_SYNTAX_HELP = (
    'use whole numbers with the units s, m, h or d (e.g. "50s", "1h30m", "1d10h30m"), '
    'or a bare number of seconds ("30")'
)
_BARE_SECONDS = re.compile(r"[0-9]+", re.ASCII)
_PAIR = re.compile(r"([0-9]+)([a-zA-Z]+)", re.ASCII)
_FULL = re.compile(r"(?:[0-9]+[smhd])+", re.ASCII)
# No number of more digits than this is needed for 10 years in any unit; refusing longer ones early
# also keeps int() away from Python's limit on very long digit strings.
_MAX_DIGITS = 12


def parse_duration(text: str, *, field: str) -> int:
    """Parse a QStash duration and return whole seconds.

    Accepted: one or more `<int><unit>` pairs with the lower-case units `s`, `m`, `h`, `d` (`"50s"`,
    `"1h30m"`, `"1d10h30m"`), or a bare non-negative integer meaning seconds (`"30"`). Whitespace
    around the value is stripped; whitespace inside it is refused.

    Decisions where QStash's documentation is silent:

    * Units may repeat or come in any order (`"30m1h"`, `"1m1m"`); the parts are added up, as Go's
      `time.ParseDuration` (which QStash's server is written against) does.
    * Zero (`"0"`, `"0s"`) is accepted; callers that need a positive value check for it.
    * Refused with `InvalidInput(f"{field}: ...", field=field)`, naming the bad value and the accepted
      syntax: empty input, unknown or upper-case units (`"5ms"`, `"2w"`, `"1H"`), a missing unit
      after a number (`"1h30"`), signs (`"-5s"`, `"+5s"`), fractions (`"1.5h"`), anything else, and
      values over 10 years.
    """
    value = text.strip() if isinstance(text, str) else ""
    if not value:
        raise InvalidInput(f"{field}: the duration is empty; {_SYNTAX_HELP}", field=field)

    if _BARE_SECONDS.fullmatch(value):
        if len(value.lstrip("0")) > _MAX_DIGITS:
            raise _too_long(value, field)
        return _checked(int(value), value, field)

    if not _FULL.fullmatch(value):
        raise InvalidInput(
            f"{field}: {shown(value)} is not a duration; {_why(value)}{_SYNTAX_HELP}", field=field
        )

    total = 0
    for number, unit in _PAIR.findall(value):
        if len(number.lstrip("0")) > _MAX_DIGITS:
            raise _too_long(value, field)
        total += int(number) * _UNIT_SECONDS[unit]
    return _checked(total, value, field)


def _why(value: str) -> str:
    """A short reason for the most common mistakes, to put before the syntax help."""
    if value[0] in "+-":
        return "a duration has no sign; "
    if re.search(r"[0-9]\.[0-9]", value):
        return "fractions are not accepted (write 90m, not 1.5h); "
    if any(c.isspace() for c in value):
        return "remove the spaces; "
    for number, unit in _PAIR.findall(value):
        if unit not in _UNIT_SECONDS:
            if unit.lower() in _UNIT_SECONDS:
                return f"units are lower-case ({unit.lower()!r}, not {unit!r}); "
            return f"{unit!r} in {number + unit!r} is not a unit; "
    if value[-1].isdigit():
        return "every number needs a unit; "
    return ""


def _too_long(value: str, field: str) -> InvalidInput:
    return InvalidInput(
        f"{field}: {shown(value)} is longer than the 10 years Ferry accepts as a duration", field=field
    )


def _checked(seconds: int, value: str, field: str) -> int:
    if seconds > MAX_DURATION_SECONDS:
        raise _too_long(value, field)
    return seconds


# --- Go's time.ParseDuration ------------------------------------------------------------------------

_GO_UNITS = {
    "ns": 1e-9,
    "us": 1e-6,
    "µs": 1e-6,  # U+00B5 MICRO SIGN
    "μs": 1e-6,  # U+03BC GREEK SMALL LETTER MU
    "ms": 1e-3,
    "s": 1.0,
    "m": 60.0,
    "h": 3_600.0,
}
_GO_PART = re.compile(r"([0-9]*(?:\.[0-9]*)?)(ns|us|µs|μs|ms|s|m|h)", re.ASCII)
# Go stores a Duration in an int64 of nanoseconds; anything beyond that is an error there too.
_GO_MAX_SECONDS = (2**63 - 1) / 1e9


def parse_go_duration(text: str) -> float:
    """Parse a duration in Go's `time.ParseDuration` syntax and return seconds (a float).

    A sequence of decimal numbers, each with an optional fraction and a required unit (`ns`, `us`,
    `µs`, `ms`, `s`, `m`, `h`), with an optional leading sign: `"300ms"`, `"-1.5h"`, `"2h45m"`. As in
    Go, a bare `"0"` (with or without sign) is zero and any other number needs a unit. Whitespace
    around the value is stripped. Raises `ValueError` for anything else, or for a magnitude beyond
    Go's limit of about 292 years.
    """
    if not isinstance(text, str):
        raise ValueError(f"not a Go duration: {text!r}")
    value = text.strip()
    sign = 1.0
    rest = value
    if rest[:1] in ("+", "-"):
        sign = -1.0 if rest[0] == "-" else 1.0
        rest = rest[1:]
    if rest == "0":
        return 0.0
    if not rest:
        raise ValueError(f"not a Go duration: {text!r}")

    total = 0.0
    pos = 0
    while pos < len(rest):
        match = _GO_PART.match(rest, pos)
        if match is None:
            raise ValueError(f"not a Go duration: {text!r}")
        number = match.group(1)
        if not any(c.isdigit() for c in number):
            raise ValueError(f"not a Go duration: {text!r} (a unit without a number)")
        total += float(number) * _GO_UNITS[match.group(2)]
        pos = match.end()

    if not math.isfinite(total) or total > _GO_MAX_SECONDS:
        raise ValueError(f"Go duration out of range: {text!r}")
    return sign * total
