"""HTTP header fields: RFC 9110 syntax, case-insensitive access, and reading typed values from
Upstash-* headers (each refusal names the header)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from ferry.domain.errors import InvalidInput

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
# RFC 9110 5.6.2: the characters of a token (a field name, a method). The HTTP exchange reads
# answers' field names with the same class, compiled for bytes.
TOKEN_CHARACTERS = r"!#$%&'*+\-.^_`|~0-9A-Za-z"
# Whole-string matches: with `re.match`, a `$` also matches before a final newline, and
# "X-Name\n" would pass for a token.
_TOKEN = re.compile(f"[{TOKEN_CHARACTERS}]+").fullmatch
# RFC 9110 5.5: field-vchar (VCHAR / obs-text) with SP and HTAB inside; no CR, LF, NUL or DEL, and
# nothing outside Latin-1, which HTTP/1.1 cannot carry.
_FIELD_VALUE = re.compile(r"[\t\x20-\x7e\x80-\xff]*").fullmatch
MAX_FIELD_BYTES = 8192


def is_token(text: str) -> bool:
    """Whether `text` can be a field name or a method on the wire."""
    return _TOKEN(text) is not None


def is_field_value(text: str) -> bool:
    """Whether `text` can be a field value on the wire as it is (no CR, LF, NUL or other control
    characters but HTAB, nothing outside Latin-1)."""
    return _FIELD_VALUE(text) is not None


def check_field(name: str, value: str) -> None:
    """Refuse a header that could not be sent as-is (it would split or corrupt the request)."""
    if not is_token(name):
        raise InvalidInput(
            f"header name {name!r} is not an RFC 9110 token (no spaces, ':', control or non-ASCII "
            "characters)",
            field=name,
        )
    if not is_field_value(value):
        raise InvalidInput(
            f"header {name}: the value contains CR, LF, NUL or other control characters, or characters "
            "outside Latin-1; percent-encode or base64 it",
            field=name,
        )
    if len(name) + len(value) > MAX_FIELD_BYTES:
        raise InvalidInput(f"header {name} is longer than {MAX_FIELD_BYTES} bytes", field=name)


def fields_within(headers: Mapping[str, str], budget: int) -> tuple[dict[str, str], bool]:
    """`headers` in order while their names and values add up to at most `budget` characters, and
    whether any were left out (what is kept of an answer's headers: a destination may send 100
    lines of 64 KiB)."""
    kept: dict[str, str] = {}
    used = 0
    for name, value in headers.items():
        used += len(name) + len(value)
        if used > budget:
            return kept, True
        kept[name] = value
    return kept, False


def checked_fields(headers: Mapping[str, str]) -> dict[str, str]:
    for name, value in headers.items():
        check_field(name, value)
    return dict(headers)


# Headers never forwarded by `Upstash-Header-Forward: true` (credentials and transport headers).
NOT_FORWARDED = {
    "authorization",
    "host",
    "content-length",
    "connection",
    "transfer-encoding",
    "keep-alive",
    "expect",
    "te",
    "upgrade",
    "via",
    "forwarded",
}


def canonical_header(name: str) -> str:
    """Go's canonical MIME header form, as QStash returns header names: `test-header` -> `Test-Header`."""
    return "-".join(part[:1].upper() + part[1:].lower() for part in name.split("-"))


class HeaderView:
    """Case-insensitive, read-only access to request headers."""

    def __init__(self, headers: Mapping[str, str]) -> None:
        self._items = [(k.lower(), k, v) for k, v in headers.items()]
        self._by_lower = {k: v for k, _, v in self._items}

    def get(self, name: str) -> str | None:
        value = self._by_lower.get(name.lower())
        return value.strip() if value is not None else None

    def with_prefix(self, prefix: str) -> Iterable[tuple[str, str]]:
        """(rest-of-name, value) for each header starting with `prefix` (case-insensitive)."""
        lp = prefix.lower()
        for lower, original, value in self._items:
            if lower.startswith(lp) and len(lower) > len(lp):
                yield original[len(prefix) :], value

    def items(self) -> Iterable[tuple[str, str]]:
        return ((original, value) for _, original, value in self._items)


def method_header(h: HeaderView, name: str) -> str:
    raw = h.get(name) or "POST"
    # (ASCII first: "po\u017ft".upper(), with a long s, is "POST".)
    value = raw.upper() if raw.isascii() else raw
    if value not in METHODS:
        raise InvalidInput(f"{name}: {value!r} is not one of {', '.join(METHODS)}", field=name)
    return value


# Go's strconv.Atoi, QStash's reading of a number: ASCII digits with an optional sign. Python's
# int() takes more ("1_0" is 10, "٣" is 3), which no other QStash-compatible server would accept.
_WHOLE_NUMBER = re.compile(r"[+-]?[0-9]+").fullmatch


def whole_number(text: str) -> int:
    """A header value's whole number (decimal digits, an optional sign); ValueError otherwise."""
    if not _WHOLE_NUMBER(text):
        raise ValueError(f"{text!r} is not a whole number")
    return int(text)  # (over 4,300 digits: ValueError as well)


def int_header(h: HeaderView, name: str, low: int, high: int) -> int | None:
    raw = h.get(name)
    if raw is None or raw == "":
        return None
    try:
        value = whole_number(raw)
    except ValueError:
        raise InvalidInput(f"{name}: {raw!r} is not a whole number", field=name) from None
    if not low <= value <= high:
        raise InvalidInput(f"{name}: {value} is out of range; use {low} to {high}", field=name)
    return value


def bool_header(h: HeaderView, name: str) -> bool:
    raw = h.get(name)
    if raw is None or raw == "":
        return False
    lowered = raw.lower()
    if lowered in ("true", "1"):
        return True
    if lowered in ("false", "0"):
        return False
    raise InvalidInput(f"{name}: {raw!r} is not a boolean; use true or false", field=name)
