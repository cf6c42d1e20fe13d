"""Turning a QStash publish request (destination, headers, body) into an Envelope.

Every header is validated here, once, for publish, enqueue, batch items and schedules alike. A
value that cannot be parsed is refused with an InvalidInput naming the header, so nothing is
enqueued for a request the caller got wrong.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass

from ferry.domain.backoff import RetryDelayExpression
from ferry.domain.destination import check_destination
from ferry.domain.durations import parse_duration
from ferry.domain.envelope import CallbackSpec, Envelope, FlowControl, RedactSpec
from ferry.domain.errors import InvalidInput, PayloadTooLarge
from ferry.domain.flow_control import check_key, parse_flow_control_value
from ferry.domain.http_headers import (
    NOT_FORWARDED,
    HeaderView,
    bool_header,
    canonical_header,
    checked_fields,
    int_header,
    is_token,
    method_header,
    whole_number,
)
from ferry.domain.limits import Limits

__all__ = ["HeaderView", "PublishPlan", "canonical_header", "parse_publish"]

_LABEL = re.compile(r"^[A-Za-z0-9._\-]{1,256}$")
_CALLBACK_OPTIONS = {"method", "timeout", "retries", "retry-delay", "delay"}
_CALLBACK_CONFIG_FAMILIES = (
    "workflow-",
    "feature-set",
    "failure-callback",
    "callback",
    "label",
    "flow-control",
)


@dataclass(frozen=True)
class PublishPlan:
    envelope: Envelope
    dedup_key: str | None
    delay_seconds: int


def parse_publish(
    *,
    destination: str,
    headers: Mapping[str, str],
    body: bytes,
    message_id: str,
    now_ms: int,
    limits: Limits,
    allow_private: bool,
    caller_ip: str | None = None,
    queue: str | None = None,
    for_schedule: bool = False,
    url_group: str | None = None,
    endpoint_name: str | None = None,
) -> PublishPlan:
    h = HeaderView(headers)
    if h.get("Upstash-Cron") and not for_schedule:
        raise InvalidInput(
            "Upstash-Cron creates a schedule: send it to POST /v2/schedules/{destination}, not to publish",
            field="Upstash-Cron",
        )
    if destination or not (for_schedule and url_group):
        # (A schedule for a URL group has no destination of its own: each firing fans out.)
        check_destination(destination, allow_private=allow_private)
    if len(body) > limits.max_body_bytes:
        raise PayloadTooLarge(
            f"body is {len(body)} bytes; the largest message Ferry accepts is {limits.max_body_bytes} bytes",
            field="body",
        )

    forwarded = _forwarded_headers(h)
    delay = requested_delay(h, now_ms, limits)
    if queue and delay:
        raise InvalidInput(
            "Upstash-Delay / Upstash-Not-Before cannot be combined with a queue: queues deliver in order, "
            "one message at a time; publish without a queue to delay a message",
            field="Upstash-Delay",
        )
    retries = int_header(h, "Upstash-Retries", 0, limits.max_retries)
    retry_delay = h.get("Upstash-Retry-Delay")
    if retry_delay:
        RetryDelayExpression.parse(retry_delay, field="Upstash-Retry-Delay")
    timeout = timeout_seconds(h, "Upstash-Timeout", limits)
    text, encoding = Envelope.encode_body(body)
    dedup_id = h.get("Upstash-Deduplication-Id") or None
    content_dedup = bool_header(h, "Upstash-Content-Based-Deduplication")
    dedup_key = None
    if dedup_id:
        dedup_key = "id:" + dedup_id
    elif content_dedup:
        dedup_key = "content:" + _content_hash(destination, body, forwarded)
    if dedup_key and url_group:
        # One publish to a group is one message per endpoint: each endpoint deduplicates on its own.
        dedup_key += "|" + destination

    envelope = Envelope(
        id=message_id,
        destination=destination,
        method=method_header(h, "Upstash-Method"),
        headers=forwarded,
        body=text,
        body_encoding=encoding,
        created_at=now_ms,
        not_before=now_ms + delay * 1000,
        max_retries=limits.default_retries if retries is None else retries,
        retry_delay=retry_delay or None,
        timeout=timeout or limits.default_timeout_seconds,
        callback=callback_spec(h, "Upstash-Callback", limits, allow_private),
        failure_callback=callback_spec(h, "Upstash-Failure-Callback", limits, allow_private),
        dedup_id=dedup_id,
        labels=labels_of(h),
        redact=_redact(h),
        queue=queue,
        flow_control=_flow_control(h),
        caller_ip=caller_ip,
        url_group=url_group,
        endpoint_name=endpoint_name,
    )
    return PublishPlan(envelope=envelope, dedup_key=dedup_key, delay_seconds=delay)


def _forwarded_headers(h: HeaderView) -> dict[str, str]:
    out: dict[str, str] = {}
    content_type = h.get("Content-Type")
    if content_type:
        out["Content-Type"] = content_type
    if bool_header(h, "Upstash-Header-Forward"):
        for name, value in h.items():
            lower = name.lower()
            if lower in NOT_FORWARDED or lower.startswith(("upstash-", "x-amzn-", "x-forwarded-")):
                continue
            out[canonical_header(name)] = value
    out.update(explicitly_forwarded(h))
    return checked_fields(out)


def explicitly_forwarded(h: HeaderView) -> dict[str, str]:
    """`Upstash-Forward-<Name>` headers, prefix stripped. Transport headers would let a publisher
    desync pooled connections (request smuggling), so they are never forwarded."""
    return checked_fields(
        {
            canonical_header(name): value
            for name, value in h.with_prefix("Upstash-Forward-")
            if name.lower() not in NOT_FORWARDED - {"authorization"}
        }
    )


def requested_delay(h: HeaderView, now_ms: int, limits: Limits) -> int:
    not_before = h.get("Upstash-Not-Before")
    if not_before:
        try:
            at = whole_number(not_before)
        except ValueError:
            raise InvalidInput(
                f"Upstash-Not-Before: {not_before!r} is not a unix timestamp in seconds",
                field="Upstash-Not-Before",
            ) from None
        delay = max(0, at - now_ms // 1000)
        field = "Upstash-Not-Before"
    else:
        raw = h.get("Upstash-Delay")
        if not raw:
            return 0
        delay = parse_duration(raw, field="Upstash-Delay")
        field = "Upstash-Delay"
    return _within_delay_limit(delay, field, limits)


def _within_delay_limit(delay: int, field: str, limits: Limits) -> int:
    if delay > limits.max_delay_seconds:
        raise InvalidInput(
            f"{field}: a delay of {delay} s is longer than the {limits.max_delay_seconds} s Ferry supports",
            field=field,
        )
    return delay


def timeout_seconds(h: HeaderView, name: str, limits: Limits) -> int | None:
    raw = h.get(name)
    if not raw:
        return None
    value = parse_duration(raw, field=name)
    if not 1 <= value <= limits.max_timeout_seconds:
        raise InvalidInput(f"{name}: use 1s to {limits.max_timeout_seconds}s, not {raw!r}", field=name)
    return value


def callback_spec(h: HeaderView, prefix: str, limits: Limits, allow_private: bool) -> CallbackSpec | None:
    url = h.get(prefix)
    if not url:
        return None
    check_destination(url, allow_private=allow_private, field=prefix)
    forward = {canonical_header(n): v for n, v in h.with_prefix(prefix + "-Forward-")}
    options: dict[str, str] = {}
    for rest, value in h.with_prefix(prefix + "-"):
        lower = rest.lower()
        if lower.startswith("forward-") or lower in _CALLBACK_OPTIONS:
            continue
        if lower.startswith(_CALLBACK_CONFIG_FAMILIES):
            # Configuration of the callback message itself (workflow protocol): kept as Upstash-<Rest>.
            options["Upstash-" + canonical_header(rest)] = value
        else:
            # The Python SDK sends `callback_headers={K: v}` as `Upstash-Callback-K`; forwarding
            # them is what its users expect (QStash's own handling is undocumented).
            forward.setdefault(canonical_header(rest), value)
    # The same rule as for the message's own headers: transport headers are never forwarded.
    forward = checked_fields(
        {n: v for n, v in forward.items() if n.lower() not in NOT_FORWARDED - {"authorization"}}
    )
    checked_fields(options)
    retry_delay = h.get(prefix + "-Retry-Delay")
    if retry_delay:
        RetryDelayExpression.parse(retry_delay, field=prefix + "-Retry-Delay")
    delay_raw = h.get(prefix + "-Delay")
    return CallbackSpec(
        url=url,
        method=method_header(h, prefix + "-Method"),
        headers=forward,
        retries=int_header(h, prefix + "-Retries", 0, limits.max_retries),
        timeout=timeout_seconds(h, prefix + "-Timeout", limits),
        retry_delay=retry_delay or None,
        delay=(
            _within_delay_limit(parse_duration(delay_raw, field=prefix + "-Delay"), prefix + "-Delay", limits)
            if delay_raw
            else None
        ),
        options=options,
    )


def labels_of(h: HeaderView) -> tuple[str, ...]:
    raw = h.get("Upstash-Label")
    if not raw:
        return ()
    labels = tuple(part.strip() for part in raw.split(",") if part.strip())
    for label in labels:
        if not _LABEL.fullmatch(label):
            raise InvalidInput(
                f"Upstash-Label: {label!r} may only contain letters, digits, '-', '_' and '.' (max 256)",
                field="Upstash-Label",
            )
    return labels


def _redact(h: HeaderView) -> RedactSpec | None:
    raw = h.get("Upstash-Redact-Fields")
    if not raw:
        return None
    body = all_headers = False
    names: list[str] = []
    for part in (p.strip() for p in raw.split(",")):
        if not part:
            continue
        lower = part.lower()
        if lower == "body":
            body = True
        elif lower in ("header", "headers"):
            all_headers = True
        else:
            match = re.fullmatch(r"headers?\[([^\[\]]+)\]", part, flags=re.IGNORECASE)
            if not match or not is_token(match.group(1).strip()):
                raise InvalidInput(
                    f"Upstash-Redact-Fields: {part!r} is not body, header or header[Name]",
                    field="Upstash-Redact-Fields",
                )
            names.append(canonical_header(match.group(1).strip()))
    return RedactSpec(body=body, all_headers=all_headers, headers=tuple(names))


def _flow_control(h: HeaderView) -> FlowControl | None:
    key = h.get("Upstash-Flow-Control-Key")
    raw = h.get("Upstash-Flow-Control-Value")
    if not key:
        if raw:
            raise InvalidInput(
                "Upstash-Flow-Control-Value needs Upstash-Flow-Control-Key: limits apply per key",
                field="Upstash-Flow-Control-Key",
            )
        return None
    check_key(key, field="Upstash-Flow-Control-Key")
    value = parse_flow_control_value(raw or "")
    return FlowControl(key=key, parallelism=value.parallelism, rate=value.rate, period=value.period)


def _content_hash(destination: str, body: bytes, forwarded: Mapping[str, str]) -> str:
    digest = hashlib.sha256()
    digest.update(destination.encode())
    digest.update(b"\0")
    for name in sorted(forwarded, key=str.lower):
        digest.update(f"{name.lower()}:{forwarded[name]}\n".encode())
    digest.update(b"\0")
    digest.update(body)
    return digest.hexdigest()
