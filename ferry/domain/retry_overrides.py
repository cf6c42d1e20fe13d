"""What the publish headers on a DLQ retry request change in the stored message: only the headers
present override, each validated exactly as on publish (a bad one is a 400 naming it)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ferry.domain.backoff import RetryDelayExpression
from ferry.domain.envelope import Envelope
from ferry.domain.errors import InvalidInput
from ferry.domain.http_headers import HeaderView, int_header, method_header
from ferry.domain.limits import Limits
from ferry.domain.publish_request import (
    callback_spec,
    explicitly_forwarded,
    labels_of,
    requested_delay,
    timeout_seconds,
)


@dataclass(frozen=True)
class RetryOverrides:
    """What the publish headers on a DLQ retry request change in the stored message."""

    updates: dict[str, Any]
    delay_seconds: int = 0


def parse_retry_overrides(
    headers: Mapping[str, str], *, stored: Envelope, now_ms: int, limits: Limits, allow_private: bool
) -> RetryOverrides:
    """Only the publish headers present on the request override; the rest stays as stored. Each is
    validated exactly as on publish, so a bad override is a 400 naming the header."""
    h = HeaderView(headers)
    updates: dict[str, Any] = {}
    retries = int_header(h, "Upstash-Retries", 0, limits.max_retries)
    if retries is not None:
        updates["max_retries"] = retries
    if retry_delay := h.get("Upstash-Retry-Delay"):
        RetryDelayExpression.parse(retry_delay, field="Upstash-Retry-Delay")
        updates["retry_delay"] = retry_delay
    if timeout := timeout_seconds(h, "Upstash-Timeout", limits):
        updates["timeout"] = timeout
    if h.get("Upstash-Method"):
        updates["method"] = method_header(h, "Upstash-Method")
    for prefix, attribute in (
        ("Upstash-Callback", "callback"),
        ("Upstash-Failure-Callback", "failure_callback"),
    ):
        if callback := callback_spec(h, prefix, limits, allow_private):
            updates[attribute] = callback
    if labels := labels_of(h):
        updates["labels"] = labels
    if forwarded := explicitly_forwarded(h):
        updates["headers"] = {**stored.headers, **forwarded}
    delay = requested_delay(h, now_ms, limits)
    if delay and stored.queue:
        raise InvalidInput(
            "Upstash-Delay / Upstash-Not-Before cannot delay the retry of a queue's message: queues "
            "deliver in order, one message at a time",
            field="Upstash-Delay",
        )
    return RetryOverrides(updates=updates, delay_seconds=delay)
