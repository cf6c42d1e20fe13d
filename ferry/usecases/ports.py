"""What the use cases need from the outside world. Adapters in `ferry.adapters` implement these
with AWS; nothing here imports boto3."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from ferry.domain.delivery import AttemptResult, DeliveryRequest
from ferry.domain.envelope import Envelope
from ferry.domain.history import LogEvent


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


class MessageQueue(Protocol):
    def send(self, envelope: Envelope, *, delay_seconds: int) -> None: ...

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


class History(Protocol):
    def message_created(self, envelope: Envelope, event: LogEvent) -> None: ...

    def record(self, envelope: Envelope, events: Sequence[LogEvent]) -> None: ...


class DedupStore(Protocol):
    def claim(self, key: str, message_id: str, *, expires_at: int) -> str | None:
        """Claim `key` for `message_id`; returns the id of an earlier live claim instead, if any."""
        ...

    def release(self, key: str, message_id: str) -> None: ...


class SigningKeys(Protocol):
    def current(self) -> str: ...

    def next(self) -> str: ...


class ApiTokens(Protocol):
    def is_valid(self, token: str) -> bool: ...


class HttpTarget(Protocol):
    def send(self, request: DeliveryRequest) -> AttemptResult: ...
