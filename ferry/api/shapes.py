"""QStash's JSON shapes (Message, LogEntry, DLQMessage), with `Upstash-Redact-Fields` applied.

Where the SDKs and the docs spell a field differently, both spellings are sent (extra keys break
neither SDK): `callerIP`/`callerIp`, `responseHeader`/`responseHeaders`,
`retryDelayExpr`/`retryDelayExpression`.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping
from typing import Any

from ferry.domain.envelope import Envelope
from ferry.domain.history import DeadLetterEntry, LogEvent
from ferry.usecases.bulk import BulkResult


def _redacted(value: str | bytes) -> str:
    data = value.encode() if isinstance(value, str) else value
    return "REDACTED:" + hashlib.sha256(data).hexdigest()


def _header_map(envelope: Envelope, headers: dict[str, str]) -> dict[str, list[str]]:
    redact = envelope.redact
    out: dict[str, list[str]] = {}
    for name, value in headers.items():
        hidden = redact is not None and (
            redact.all_headers or name.lower() in {h.lower() for h in redact.headers}
        )
        out[name] = [_redacted(value) if hidden else value]
    return out


def message(envelope: Envelope, state: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "messageId": envelope.id,
        "url": envelope.destination,
        "method": envelope.method,
        "header": _header_map(envelope, envelope.headers),
        "maxRetries": envelope.max_retries,
        "notBefore": envelope.not_before,
        "createdAt": envelope.created_at,
    }
    if not envelope.body:
        pass  # QStash leaves both body fields out when the body is empty
    elif envelope.redact is not None and envelope.redact.body:
        body["body"] = _redacted(envelope.body_bytes())
    elif envelope.body_encoding == "utf8":
        body["body"] = envelope.body
    else:
        body["bodyBase64"] = envelope.body
    optional = {
        "callback": envelope.callback.url if envelope.callback else None,
        "failureCallback": envelope.failure_callback.url if envelope.failure_callback else None,
        "queueName": envelope.queue,
        "topicName": envelope.url_group,
        "endpointName": envelope.endpoint_name,
        "scheduleId": envelope.schedule_id,
        "callerIP": envelope.caller_ip,
        "callerIp": envelope.caller_ip,
        "retryDelayExpression": envelope.retry_delay,
        "retryDelayExpr": envelope.retry_delay,
        "label": envelope.labels[0] if envelope.labels else None,
        "labels": list(envelope.labels) or None,
        "state": state,
        "timeout": envelope.timeout,
    }
    if envelope.callback and envelope.callback.headers:
        optional["callbackHeader"] = {k: [v] for k, v in envelope.callback.headers.items()}
    if envelope.failure_callback and envelope.failure_callback.headers:
        optional["failureCallbackHeader"] = {k: [v] for k, v in envelope.failure_callback.headers.items()}
    if envelope.flow_control:
        optional.update(
            flowControlKey=envelope.flow_control.key,
            parallelism=envelope.flow_control.parallelism,
            rate=envelope.flow_control.rate,
            period=envelope.flow_control.period,
        )
    body.update({k: v for k, v in optional.items() if v is not None})
    return body


def _response_headers(headers: Mapping[str, str]) -> dict[str, list[str]]:
    return {k: [v] for k, v in headers.items()}


def log_entry(event: LogEvent) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "time": event.time_ms,
        "messageId": event.message_id,
        "state": str(event.state),
        "url": event.url,
    }
    if event.response_headers:
        entry["responseHeader"] = entry["responseHeaders"] = _response_headers(event.response_headers)
    optional = {
        "error": event.error,
        "nextDeliveryTime": event.next_delivery_ms,
        "responseStatus": event.response_status,
        # (QStash sends the log's response body base64-encoded.)
        "responseBody": base64.b64encode(event.response_body).decode() if event.response_body else None,
        "queueName": event.queue,
        "scheduleId": event.schedule_id,
        "topicName": event.topic_name,
        "dlqId": event.dlq_id,
        # The message's fields QStash repeats in every log entry (qstash-py reads retryDelayExpr).
        "method": event.method,
        "maxRetries": event.max_retries,
        "timeout": event.timeout,
        "callback": event.callback,
        "failureCallback": event.failure_callback,
        "retryDelayExpression": event.retry_delay,
        "retryDelayExpr": event.retry_delay,
        "endpointName": event.endpoint_name,
        "flowControlKey": event.flow_control_key,
        "parallelism": event.parallelism,
        "rate": event.rate,
        "period": event.period,
    }
    entry.update({k: v for k, v in optional.items() if v is not None})
    if event.labels:
        entry["labels"] = list(event.labels)
        entry["label"] = entry["labels"][0]
    entry["retried"] = event.retried
    return entry


def dlq_message(entry: DeadLetterEntry) -> dict[str, Any]:
    body = message(entry.envelope)
    body["dlqId"] = entry.dlq_id
    body["responseStatus"] = entry.response_status or 0
    body["failureReason"] = entry.reason
    if entry.response_headers:
        body["responseHeader"] = _response_headers(entry.response_headers)
    if entry.response_body:
        try:
            body["responseBody"] = entry.response_body.decode("utf-8")
        except UnicodeDecodeError:
            body["responseBodyBase64"] = base64.b64encode(entry.response_body).decode()
    return body


def bulk_body(body: dict[str, Any], run: BulkResult[Any]) -> dict[str, Any]:
    """A bulk answer: QStash's body, plus `"incomplete": true` when the time budget stopped it
    (repeating the same request continues; the SDKs ignore the extra key)."""
    return {**body, "incomplete": True} if not run.complete else body
