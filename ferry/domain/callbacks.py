"""Callbacks and failure callbacks are messages too: signed, retried, logged. This builds them."""

from __future__ import annotations

import base64
import json

from ferry.domain.delivery import AttemptResult
from ferry.domain.envelope import CallbackSpec, Envelope
from ferry.domain.http_headers import fields_within

# A callback is itself a queue message (at most 1 MiB, base64 inflates by 4/3): the attempt's
# response body and the source body are included up to this size each, and flagged when cut.
MAX_CALLBACK_PART_BYTES = 256_000
# The destination's response headers, in all: a destination may answer 100 lines of 64 KiB, which
# would make the callback too large to enqueue (it was lost, its message left CREATED).
MAX_CALLBACK_HEADER_BYTES = 64_000


def _header_lists(headers: dict[str, str] | object) -> dict[str, list[str]]:
    return {str(k): [str(v)] for k, v in dict(headers).items()}  # type: ignore[call-overload]


def callback_body(
    source: Envelope, result: AttemptResult, *, retried: int, dlq_id: str | None = None
) -> dict[str, object]:
    """QStash's callback body: the attempt's response plus the source message's identity."""
    response_body = result.body or b""
    source_body = source.body_bytes()
    response_headers, headers_cut = fields_within(dict(result.headers), MAX_CALLBACK_HEADER_BYTES)
    body: dict[str, object] = {
        "status": result.status if result.status is not None else 0,
        "header": _header_lists(response_headers),
        "body": base64.b64encode(response_body[:MAX_CALLBACK_PART_BYTES]).decode(),
        "retried": retried,
        "maxRetries": source.max_retries,
        "sourceMessageId": source.id,
        "url": source.destination,
        "method": source.method,
        "sourceHeader": _header_lists(source.headers),
        "sourceBody": base64.b64encode(source_body[:MAX_CALLBACK_PART_BYTES]).decode(),
        # Strings of unix ms, as in QStash's documented example.
        "notBefore": str(source.not_before),
        "createdAt": str(source.created_at),
    }
    if result.error:
        body["error"] = result.error
    if len(response_body) > MAX_CALLBACK_PART_BYTES:
        body["bodyTruncated"] = True
    if headers_cut:
        body["headerTruncated"] = True
    if len(source_body) > MAX_CALLBACK_PART_BYTES:
        body["sourceBodyTruncated"] = True
    for key, value in (
        ("topicName", source.url_group),
        ("endpointName", source.endpoint_name),
        ("scheduleId", source.schedule_id),
        ("callerIP", source.caller_ip),
        ("dlqId", dlq_id),
        ("workflowRunId", source.workflow.run_id if source.workflow else None),
    ):
        if value:
            body[key] = value
    return body


def callback_envelope(
    source: Envelope,
    spec: CallbackSpec,
    result: AttemptResult,
    *,
    retried: int,
    message_id: str,
    now_ms: int,
    kind: str,
    default_timeout: int,
    dlq_id: str | None = None,
) -> Envelope:
    # (Not ASCII-escaped: a Latin-1 header value would take 6 bytes a character, not 2.)
    payload = json.dumps(
        callback_body(source, result, retried=retried, dlq_id=dlq_id), ensure_ascii=False
    ).encode()
    delay_ms = (spec.delay or 0) * 1000
    return Envelope(
        id=message_id,
        destination=spec.url,
        method=spec.method,
        headers={"Content-Type": "application/json", **spec.headers},
        body=payload.decode(),
        created_at=now_ms,
        not_before=now_ms + delay_ms,
        # A callback without its own settings uses the source message's retry settings.
        max_retries=spec.retries if spec.retries is not None else source.max_retries,
        retry_delay=spec.retry_delay if spec.retry_delay is not None else source.retry_delay,
        timeout=spec.timeout or default_timeout,
        labels=source.labels,
        caller_ip=source.caller_ip,
        schedule_id=source.schedule_id,
        source_message_id=source.id,
        kind=kind,  # type: ignore[arg-type]
    )
