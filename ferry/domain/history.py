"""Message states and log events (QStash's `/v2/events` vocabulary)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from ferry.domain.envelope import Envelope


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
            **details,
        )
