"""The wait a failed response asks for: `Retry-After` and the rate-limit reset headers. Pure
standard library."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import UTC
from email.utils import parsedate_to_datetime

from ferry.domain.durations import parse_go_duration

MAX_RETRY_AFTER_SECONDS = 86_400
"""A Retry-After-style value longer than this is ignored (not clamped), as QStash does."""

RETRY_AFTER_HEADERS = (
    "Retry-After",
    "X-RateLimit-Reset",
    "X-RateLimit-Reset-Requests",
    "X-RateLimit-Reset-Tokens",
)

# A bare number above this in a Retry-After-style header is a unix timestamp, not a number of seconds.
_EPOCH_THRESHOLD = 1e9

_DECIMAL = re.compile(r"[0-9]+(?:\.[0-9]+)?", re.ASCII)


def _header_seconds(value: str, now: float) -> float | None:
    """Seconds to wait according to one header value, or None if the value is not usable."""
    value = value.strip()
    if not value:
        return None
    seconds: float | None = None
    if _DECIMAL.fullmatch(value):
        number = float(value)
        seconds = number - now if number > _EPOCH_THRESHOLD else number
        seconds = max(seconds, 0.0)  # a reset time already past: retry now
    else:
        try:
            seconds = parse_go_duration(value)
        except ValueError:
            seconds = _http_date_seconds(value, now)
        if seconds is not None and seconds < 0:
            return None
    if seconds is None or not math.isfinite(seconds) or seconds > MAX_RETRY_AFTER_SECONDS:
        return None
    return seconds


def _http_date_seconds(value: str, now: float) -> float | None:
    """Seconds from `now` until an HTTP date (RFC 1123, and the older forms email.utils reads)."""
    if not any(c.isalpha() for c in value):
        return None
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:  # "GMT" / "-0000": the date is in UTC
        when = when.replace(tzinfo=UTC)
    try:
        return max(when.timestamp() - now, 0.0)  # a date already past: retry now
    except (OverflowError, OSError, ValueError):
        return None


def retry_after_seconds(headers: Mapping[str, str], now: float) -> float | None:
    """The wait a failed response asked for, in seconds, or None if it asked for none usable.

    Headers are looked up case-insensitively in this order, and the first usable one wins:
    `Retry-After`, `X-RateLimit-Reset`, `X-RateLimit-Reset-Requests`, `X-RateLimit-Reset-Tokens`.
    A value may be:

    * a non-negative number of seconds, integer or decimal (`"0"` means retry at once);
    * a number larger than 1e9, read as a unix timestamp in seconds (as many `X-RateLimit-Reset`
      implementations send), giving the time from `now` until then;
    * an HTTP date (`"Wed, 21 Oct 2015 07:28:00 GMT"`), giving the time from `now` (unix seconds)
      until then;
    * a Go duration (`"6m5s"`, `"1.5s"`, `"300ms"`).

    A timestamp or date already in the past means 0 (retry now). A value over one day (86400 s) is
    ignored rather than clamped, as are negative durations and anything unreadable; in each of those
    cases the next header in the list is tried.
    """
    by_name: dict[str, str] = {}
    for name, value in headers.items():
        if isinstance(name, str) and isinstance(value, str):
            by_name.setdefault(name.lower(), value)
    for name in RETRY_AFTER_HEADERS:
        value = by_name.get(name.lower())
        if value is None:
            continue
        seconds = _header_seconds(value, now)
        if seconds is not None:
            return seconds
    return None
