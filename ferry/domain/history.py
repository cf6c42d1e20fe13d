"""The history's records: message states, log events (QStash's `/v2/events` vocabulary) and
dead-letter entries. Storage adapters return these; none of their storage format leaks out."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from ferry.domain.envelope import Envelope
from ferry.domain.http_headers import fields_within


class State(StrEnum):
    CREATED = "CREATED"
    ACTIVE = "ACTIVE"
    RETRY = "RETRY"
    ERROR = "ERROR"
    DELIVERED = "DELIVERED"
    FAILED = "FAILED"
    CANCEL_REQUESTED = "CANCEL_REQUESTED"
    # One L, as the SDKs' enums spell it.
    CANCELED = "CANCELED"


TERMINAL_STATES = frozenset({State.DELIVERED, State.FAILED, State.CANCELED})

# What the history keeps of an attempt's answer and of an error text (a DynamoDB item holds
# 400 KB; the full response went to the callback already).
MAX_STORED_RESPONSE_BYTES = 4_096
MAX_STORED_ERROR_CHARS = 2_000
# The response headers a log event or DLQ entry keeps, in all: a destination may answer 100 lines
# of 64 KiB, far past DynamoDB's 400 KB an item (the history write would fail).
MAX_STORED_HEADER_BYTES = 16_384


def stored_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """`headers` in order up to MAX_STORED_HEADER_BYTES; the rest left out."""
    return fields_within(headers, MAX_STORED_HEADER_BYTES)[0]


# Larger message bodies are left out of the stored message (the queue still carries them to the
# destination); the record says so (`body_stored`).
MAX_STORED_BODY_BYTES = 200_000


def storable(envelope: Envelope) -> Envelope:
    """The envelope as the history keeps it: a large body is left out."""
    if len(envelope.body) > MAX_STORED_BODY_BYTES:
        return envelope.model_copy(update={"body": "", "body_encoding": "utf8"})
    return envelope


@dataclass(frozen=True)
class LogEvent:
    message_id: str
    state: State
    time_ms: int
    url: str
    retried: int = 0
    response_status: int | None = None
    response_headers: Mapping[str, str] = field(default_factory=dict)
    response_body: bytes | None = None
    error: str | None = None
    next_delivery_ms: int | None = None
    dlq_id: str | None = None
    labels: tuple[str, ...] = ()
    queue: str | None = None
    schedule_id: str | None = None
    topic_name: str | None = None
    caller_ip: str | None = None
    flow_control_key: str | None = None
    # What QStash's LogEntry repeats from its message: the small fields only (the message's
    # headers and body stay in the message record, GET /v2/messages/{id}).
    method: str | None = None
    max_retries: int | None = None
    timeout: int | None = None
    callback: str | None = None
    failure_callback: str | None = None
    retry_delay: str | None = None
    endpoint_name: str | None = None
    parallelism: int | None = None
    rate: int | None = None
    period: int | None = None

    def filter_fields(self) -> dict[str, Any]:
        """The attributes `Query.matches` filters on, by their QStash names."""
        return {
            "messageId": self.message_id,
            "state": str(self.state),
            "url": self.url,
            "labels": self.labels,
            "queueName": self.queue,
            "scheduleId": self.schedule_id,
            "topicName": self.topic_name,
            "callerIp": self.caller_ip,
            "flowControlKey": self.flow_control_key,
            "responseStatus": self.response_status,
            "dlqId": self.dlq_id,
        }

    def stored(self) -> LogEvent:
        """This event as the history keeps it (response body and error text clipped)."""
        body = self.response_body[:MAX_STORED_RESPONSE_BYTES] if self.response_body else None
        error = self.error[:MAX_STORED_ERROR_CHARS] if self.error else None
        return replace(
            self,
            response_body=body or None,
            error=error or None,
            response_headers=stored_headers(self.response_headers),
            # A set in storage: its order is not kept.
            labels=tuple(sorted(set(self.labels))),
        )

    @classmethod
    def of(cls, envelope: Envelope, state: State, time_ms: int, **details: Any) -> LogEvent:
        """An event about `envelope`, carrying the attributes logs are filtered by."""
        return cls(
            message_id=envelope.id,
            state=state,
            time_ms=time_ms,
            url=envelope.destination,
            labels=envelope.labels,
            queue=envelope.queue,
            schedule_id=envelope.schedule_id,
            topic_name=envelope.url_group,
            caller_ip=envelope.caller_ip,
            flow_control_key=envelope.flow_control.key if envelope.flow_control else None,
            method=envelope.method,
            max_retries=envelope.max_retries,
            timeout=envelope.timeout,
            callback=envelope.callback.url if envelope.callback else None,
            failure_callback=envelope.failure_callback.url if envelope.failure_callback else None,
            retry_delay=envelope.retry_delay,
            endpoint_name=envelope.endpoint_name,
            parallelism=envelope.flow_control.parallelism if envelope.flow_control else None,
            rate=envelope.flow_control.rate if envelope.flow_control else None,
            period=envelope.flow_control.period if envelope.flow_control else None,
            **details,
        )


@dataclass(frozen=True)
class DeadLetterEntry:
    """A message in the DLQ, as the API lists, retries and deletes it."""

    dlq_id: str
    envelope: Envelope
    time_ms: int
    reason: str
    response_status: int | None = None
    response_headers: Mapping[str, str] = field(default_factory=dict)
    response_body: bytes | None = None
    # False when the body was too large to keep (the SQS dead-letter queue still holds it).
    body_stored: bool = True

    def filter_fields(self) -> dict[str, Any]:
        envelope = self.envelope
        return {
            "dlqId": self.dlq_id,
            "messageId": envelope.id,
            "url": envelope.destination,
            "labels": envelope.labels,
            "queueName": envelope.queue,
            "scheduleId": envelope.schedule_id,
            "topicName": envelope.url_group,
            "callerIp": envelope.caller_ip,
            "flowControlKey": envelope.flow_control.key if envelope.flow_control else None,
            "responseStatus": self.response_status,
        }

    def stored(self) -> DeadLetterEntry:
        """This entry as the history keeps it (large body left out, response clipped)."""
        envelope = storable(self.envelope)
        body = self.response_body[:MAX_STORED_RESPONSE_BYTES] if self.response_body else None
        return replace(
            self,
            envelope=envelope,
            body_stored=self.body_stored and envelope is self.envelope,
            reason=self.reason[:MAX_STORED_ERROR_CHARS],
            response_body=body or None,
            response_headers=stored_headers(self.response_headers),
        )
