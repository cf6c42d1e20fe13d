"""Which header names and values HTTP can carry (RFC 9110 §5.1, §5.5).

A name is a token; a value is visible characters, Latin-1 obs-text, spaces and tabs. CR, LF, NUL
and other control characters would split or corrupt the request, and characters beyond Latin-1
cannot be written on the wire at all. Publish refuses such headers; the dispatcher checks again
before sending, so a message stored before that check cannot loop through SQS retries.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
# VCHAR, obs-text, SP and HTAB. (Surrounding spaces are legal to send: the receiver trims them.)
FIELD_VALUE = re.compile(r"[\x20\x09\x21-\x7e\x80-\xff]*")


def header_problem(name: str, value: str) -> str | None:
    """Why this header cannot be sent, or None when it can."""
    if not TOKEN.fullmatch(name):
        return f"header name {name!r} is not an HTTP token (letters, digits and !#$%&'*+-.^_`|~)"
    if not FIELD_VALUE.fullmatch(value):
        return f"header {name!r} has a value with characters HTTP cannot carry (CR, LF, NUL, non-Latin-1)"
    return None


def headers_problem(headers: Mapping[str, str]) -> str | None:
    """The first header that cannot be sent, said why; None when all can."""
    for name, value in headers.items():
        if problem := header_problem(name, value):
            return problem
    return None
