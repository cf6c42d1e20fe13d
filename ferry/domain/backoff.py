"""How long to wait before the next delivery attempt.

Three sources, in this order of precedence (`next_retry_delay_seconds` is the one place that applies
it):

1. The failed response's `Retry-After`, `X-RateLimit-Reset`, `X-RateLimit-Reset-Requests` or
   `X-RateLimit-Reset-Tokens` header (`retry_after_seconds`).
2. The message's `Upstash-Retry-Delay` expression (`RetryDelayExpression`), in milliseconds.
3. QStash's default exponential backoff (`default_backoff_seconds`).

Each source lives in its own module (`retry_after`, `retry_delay_expression`, `default_backoff`);
this one applies the precedence.

Pure standard library; no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping

from ferry.domain.default_backoff import MAX_BACKOFF_SECONDS, default_backoff_seconds
from ferry.domain.retry_after import MAX_RETRY_AFTER_SECONDS, RETRY_AFTER_HEADERS, retry_after_seconds
from ferry.domain.retry_delay_expression import (
    MAX_EXPRESSION_DEPTH,
    MAX_EXPRESSION_LENGTH,
    RetryDelayExpression,
)

__all__ = [
    "MAX_BACKOFF_SECONDS",
    "MAX_EXPRESSION_DEPTH",
    "MAX_EXPRESSION_LENGTH",
    "MAX_RETRY_AFTER_SECONDS",
    "RETRY_AFTER_HEADERS",
    "RetryDelayExpression",
    "default_backoff_seconds",
    "next_retry_delay_seconds",
    "retry_after_seconds",
]


def next_retry_delay_seconds(
    *,
    retried: int,
    expression: RetryDelayExpression | None,
    response_headers: Mapping[str, str] | None,
    now: float,
) -> float:
    """Seconds to wait before the next attempt, after `retried` retries have been made.

    1. A usable Retry-After-family header on the failed response wins (QStash honours it on any
       failed response, not only 429 and 503); see `retry_after_seconds`.
    2. Otherwise the message's `Upstash-Retry-Delay` expression, converted from milliseconds; if it
       cannot be evaluated for this `retried` (division by zero, overflow, ...), the default backoff
       is used for this attempt instead.
    3. Otherwise `default_backoff_seconds(retried)`.

    Never raises for a valid `retried` (>= 0); the result is within [0, MAX_BACKOFF_SECONDS].
    """
    if response_headers:
        seconds = retry_after_seconds(response_headers, now)
        if seconds is not None:
            return seconds
    if expression is not None:
        try:
            return expression.delay_ms(retried) / 1000.0
        except (ArithmeticError, ValueError):
            pass
    return default_backoff_seconds(retried)
