"""What the use cases need from the outside world. Adapters in `ferry.adapters` implement these
with AWS; nothing here imports boto3."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from ferry.domain.delivery import AttemptResult, DeliveryRequest
from ferry.domain.envelope import Envelope
from ferry.domain.history import LogEvent
from ferry.domain.queries import Query


class Clock(Protocol):
    def now(self) -> float:
        """Unix time in seconds."""
        ...


class SystemClock:
    def now(self) -> float:
        return time.time()


@dataclass(frozen=True)
class QueuedMessage:
    """A message as the dispatcher received it from a queue."""

    envelope: Envelope
    receive_count: int
    receipt_handle: str
    queue_url: str
    sqs_message_id: str


@dataclass(frozen=True)
class DeadLetter:
    dlq_id: str
    envelope: Envelope
    time_ms: int
    reason: str
    response_status: int | None = None
    response_headers: Mapping[str, str] = field(default_factory=dict)
    response_body: bytes | None = None


class MessageQueue(Protocol):
    def send(self, envelope: Envelope, *, delay_seconds: int) -> None:
        """Enqueue: to the FIFO queue (group = queue name) when `envelope.queue` is set."""
        ...

    def retry_later(self, message: QueuedMessage, *, delay_seconds: int) -> None:
        """Hide the received message until its next attempt is due."""
        ...

    def dead_letter(
        self,
        message: QueuedMessage,
        envelope: Envelope,
        *,
        reason: str,
        dlq_id: str,
        response_status: int | None,
    ) -> None: ...


class GroupEndpoints(Protocol):
    def endpoints(self, name: str) -> tuple[Any, ...]:
        """The endpoints (`.url`, `.name`) of a URL group; raises NotFound for an unknown group."""
        ...


class DelayedDelivery(Protocol):
    """Holds a message outside SQS until shortly before it is due."""

    def fits(self, envelope: Envelope) -> bool: ...

    def schedule(self, envelope: Envelope) -> None: ...


class History(Protocol):
    def message_created(self, envelope: Envelope, event: LogEvent) -> None: ...

    def record(self, envelope: Envelope, events: Sequence[LogEvent]) -> None: ...

    def get_envelope(self, message_id: str) -> Envelope | None: ...

    def state(self, message_id: str) -> str | None: ...

    def request_cancel(self, message_id: str, now_ms: int, not_before_ms: int = 0) -> bool: ...

    def cancel_requested(self, message_id: str) -> bool: ...

    def put_dead_letter(self, entry: DeadLetter) -> None: ...

    def take_dead_letter(self, dlq_id: str) -> dict[str, Any] | None: ...

    def restore_dead_letter(self, entry: Mapping[str, Any]) -> None:
        """Put back an entry `take_dead_letter` returned (its retry could not be enqueued)."""
        ...

    def get_dead_letter(self, dlq_id: str) -> dict[str, Any] | None: ...

    def query_dead_letters(self, query: Query) -> list[dict[str, Any]]: ...

    def query_events(self, query: Query) -> list[dict[str, Any]]: ...

    def schedule_fired(self, schedule_id: str, message_id: str, time_ms: int) -> None: ...


class DedupStore(Protocol):
    def claim(self, key: str, message_id: str, *, expires_at: int) -> str | None:
        """Claim `key` for `message_id`; returns the id of an earlier live claim instead, if any."""
        ...

    def release(self, key: str, message_id: str) -> None: ...


class SigningKeys(Protocol):
    def current(self) -> str: ...

    def next(self) -> str: ...

    def rotate(self, new_next: str) -> tuple[str, str]:
        """next becomes current, `new_next` becomes next; returns (current, next)."""
        ...


class ApiTokens(Protocol):
    def is_valid(self, token: str) -> bool: ...

    def api_token(self) -> str: ...


class HttpTarget(Protocol):
    def send(self, request: DeliveryRequest) -> AttemptResult: ...
