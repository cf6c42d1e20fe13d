"""What the use cases need from the outside world. Adapters in `ferry.adapters` implement these
with AWS; nothing here imports boto3."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from ferry.domain.delivery import AttemptResult, DeliveryRequest
from ferry.domain.envelope import Envelope
from ferry.domain.history import DeadLetterEntry, LogEvent
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
class ReceivedMessage:
    """A message as a queue hands it over, its body not yet read as an envelope."""

    body: str
    receive_count: int
    receipt_handle: str
    queue_url: str
    sqs_message_id: str

    def read(self) -> QueuedMessage:
        """The message with its envelope; raises ValueError when the body is not an envelope."""
        return QueuedMessage(
            envelope=Envelope.from_json(self.body),
            receive_count=self.receive_count,
            receipt_handle=self.receipt_handle,
            queue_url=self.queue_url,
            sqs_message_id=self.sqs_message_id,
        )


# (The DLQ entry record; the old name stays for existing imports.)
DeadLetter = DeadLetterEntry


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

    def dead_letter_unreadable(self, message: ReceivedMessage, *, reason: str) -> None:
        """Move a message that is not an envelope to its queue's DLQ as it is, with the reason."""
        ...


class GroupEndpoints(Protocol):
    def endpoints(self, name: str) -> tuple[Any, ...]:
        """The endpoints (`.url`, `.name`) of a URL group; raises NotFound for an unknown group."""
        ...


class DelayedDelivery(Protocol):
    """Holds a message outside SQS until shortly before it is due."""

    def fits(self, envelope: Envelope) -> bool: ...

    def schedule(self, envelope: Envelope) -> None: ...


class MessageLog(Protocol):
    """Stored messages and their log events."""

    def message_created(self, envelope: Envelope, event: LogEvent) -> None: ...

    def record(self, envelope: Envelope, events: Sequence[LogEvent]) -> None:
        """Append log events of a message (in order). One call per transition: an adapter may
        store them as one item."""
        ...

    def get_envelope(self, message_id: str) -> Envelope | None: ...

    def state(self, message_id: str) -> str | None:
        """The state of the message's latest event."""
        ...

    def events(self, message_id: str) -> list[LogEvent]:
        """The message's events, oldest first."""
        ...

    def query_events(self, query: Query) -> list[LogEvent]:
        """Events matching `query`, newest first; at least `query.count + 1` when there are that
        many (so the caller can tell whether another page exists)."""
        ...


class CancelMarks(Protocol):
    def request_cancel(self, message_id: str, now_ms: int, not_before_ms: int = 0) -> bool:
        """Mark the message cancelled; False when it was already marked."""
        ...

    def cancel_requested(self, message_id: str, created_ms: int | None = None) -> bool:
        """Whether the message was marked cancelled. `created_ms` (when the message was created)
        lets a store answer without reading the mark when no cancel was requested since."""
        ...


class FiringLog(Protocol):
    def schedule_fired(self, schedule_id: str, message_id: str, time_ms: int) -> None: ...

    def last_firing(self, schedule_id: str) -> tuple[str, int] | None:
        """(message id, time in ms) of the schedule's latest firing."""
        ...


class DeadLetterStore(Protocol):
    def put_dead_letter(self, entry: DeadLetterEntry) -> None: ...

    def get_dead_letter(self, dlq_id: str) -> DeadLetterEntry | None: ...

    def take_dead_letter(self, dlq_id: str) -> DeadLetterEntry | None:
        """Delete the entry and return it; None if it was already gone. Exactly one caller wins, so
        a DLQ entry is retried, redriven or deleted once."""
        ...

    def restore_dead_letter(self, entry: DeadLetterEntry) -> None:
        """Put back an entry `take_dead_letter` returned (its retry could not be enqueued), unless
        something took its place meanwhile."""
        ...

    def query_dead_letters(self, query: Query) -> list[DeadLetterEntry]:
        """Entries matching `query`, newest first."""
        ...


class History(MessageLog, CancelMarks, FiringLog, DeadLetterStore, Protocol):
    """Everything the history keeps, one port per record kind; a use case or delivery step takes
    the narrowest one it needs. Every read returns a typed record (`Envelope`, `LogEvent`,
    `DeadLetterEntry`), never a storage item."""


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
