"""The header section of a request to `ferry dev`'s gateway (RFC 9112 5), read without the email
package.

The standard library's `http.server` parses every request's headers with `email.feedparser`
and looks each one up by scanning them all: about half of the gateway's CPU per request
(docs/benchmarks.md, 2026-12-08 02:55). This reads the same section with the same limits
(`http.client`'s: 100 fields, 64 KiB a line) into a small case-insensitive view, and refuses
what the email parser quietly accepted: a line that is not `name: value` (the email parser
ended the headers there and let the rest become body).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import BinaryIO

from ferry.domain.http_headers import TOKEN_CHARACTERS

MAX_LINE_BYTES = 65_536
MAX_FIELDS = 100
_FIELD_NAME = re.compile(f"[{TOKEN_CHARACTERS}]+").fullmatch


class HeadRefused(Exception):
    """The header section cannot be read: `status` (400 or 431) says why."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status


class RequestHeaders:
    """A request's header fields in the order sent; names compared without case."""

    def __init__(self, fields: list[tuple[str, str]]) -> None:
        self._fields = fields
        self._by_name: dict[str, list[str]] = {}
        for name, value in fields:
            self._by_name.setdefault(name.lower(), []).append(value)

    def items(self) -> list[tuple[str, str]]:
        return list(self._fields)

    def get(self, name: str, default: str | None = None) -> str | None:
        """The first field of that name (as `email.message.Message.get`)."""
        values = self._by_name.get(name.lower())
        return values[0] if values else default

    def get_all(self, name: str) -> list[str] | None:
        return self._by_name.get(name.lower())

    def __iter__(self) -> Iterator[str]:
        return (name for name, _ in self._fields)

    def __len__(self) -> int:
        return len(self._fields)


def read_headers(rfile: BinaryIO) -> RequestHeaders:
    """The fields up to the empty line that ends the section. Values are Latin-1 text, stripped of
    the whitespace around them; a folded line (obs-fold) continues the previous value after one
    space. A connection closed inside the section ends it."""
    fields: list[tuple[str, list[str]]] = []
    lines = 0
    while True:
        line = rfile.readline(MAX_LINE_BYTES + 1)
        if len(line) > MAX_LINE_BYTES:
            raise HeadRefused(431, "header line too long")
        if line in (b"\r\n", b"\n", b""):
            return RequestHeaders([(name, " ".join(parts)) for name, parts in fields])
        lines += 1
        if lines > MAX_FIELDS:
            raise HeadRefused(431, "too many headers")
        text = line.decode("latin-1").rstrip("\r\n")
        if "\r" in text:
            # RFC 9112 2.2: a bare CR is refused (the email parser split the line there).
            raise HeadRefused(400, "a bare CR inside a header line")
        if text[:1] in (" ", "\t") and fields:
            if part := text.strip(" \t"):  # (a blank continuation adds nothing)
                fields[-1][1].append(part)
            continue
        name, colon, value = text.partition(":")
        if not colon or not _FIELD_NAME(name):
            raise HeadRefused(400, f"not a header field: {text[:80]!r}")
        fields.append((name, [value.strip(" \t")]))
