"""InMemoryQueue: the message queues with SQS's semantics that delivery relies on: delays,
visibility timeouts, receive counts, one FIFO group per queue name, and dead-letter queues."""

from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass

from ferry.domain.envelope import Envelope
from ferry.domain.limits import Limits
from ferry.usecases.ports import Clock, QueuedMessage

STANDARD = "memory://queue"
FIFO = "memory://queue.fifo"


@dataclass
class _Stored:
    sqs_message_id: str
    body: str
    queue_url: str
    visible_at: float
    receive_count: int = 0
    receipt_handle: str = ""
    group: str | None = None


@dataclass(frozen=True)
class DeadLettered:
    """A message in one of the SQS dead-letter queues (what a console redrive moves back)."""

    envelope: Envelope
    reason: str
    dlq_id: str
    response_status: int | None
    queue_url: str


class InMemoryQueue:
    def __init__(
        self, clock: Clock, *, visibility_timeout_seconds: int = 1_980, limits: Limits | None = None
    ):
        self._clock = clock
        self._visibility = visibility_timeout_seconds
        self._max_delay = (limits or Limits()).max_sqs_delay_seconds
        self._messages: list[_Stored] = []
        self.dead_letters: list[DeadLettered] = []
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def url_for(self, source: str) -> str:
        return FIFO if source.endswith(".fifo") else STANDARD

    def send(self, envelope: Envelope, *, delay_seconds: int) -> None:
        with self._lock:
            number = next(self._ids)
            if envelope.queue:
                # FIFO queues take no per-message delay; the group is the queue name.
                stored = _Stored(
                    f"sqs-{number}", envelope.to_json(), FIFO, self._clock.now(), group=envelope.queue
                )
            else:
                delay = max(0, min(delay_seconds, self._max_delay))
                stored = _Stored(f"sqs-{number}", envelope.to_json(), STANDARD, self._clock.now() + delay)
            self._messages.append(stored)

    def retry_later(self, message: QueuedMessage, *, delay_seconds: int) -> None:
        with self._lock:
            stored = self._by_receipt(message.receipt_handle)
            stored.visible_at = self._clock.now() + delay_seconds

    def dead_letter(
        self,
        message: QueuedMessage,
        envelope: Envelope,
        *,
        reason: str,
        dlq_id: str,
        response_status: int | None,
    ) -> None:
        with self._lock:
            self.dead_letters.append(
                DeadLettered(envelope, reason[:1000], dlq_id, response_status, message.queue_url + "-dlq")
            )

    # --- what the event source mapping does -------------------------------------------------

    def receive(self, max_messages: int = 10) -> list[QueuedMessage]:
        """Visible messages, each hidden for the visibility timeout and its receive count raised.
        A FIFO group yields only its oldest message while that one is in flight."""
        now = self._clock.now()
        received: list[QueuedMessage] = []
        with self._lock:
            busy_groups: set[str] = set()
            for stored in self._messages:
                if len(received) >= max_messages:
                    break
                if stored.group is not None:
                    if stored.group in busy_groups:
                        continue
                    busy_groups.add(stored.group)
                if stored.visible_at > now:
                    continue
                stored.receive_count += 1
                stored.receipt_handle = f"{stored.sqs_message_id}#{stored.receive_count}"
                stored.visible_at = now + self._visibility
                received.append(
                    QueuedMessage(
                        envelope=Envelope.from_json(stored.body),
                        receive_count=stored.receive_count,
                        receipt_handle=stored.receipt_handle,
                        queue_url=stored.queue_url,
                        sqs_message_id=stored.sqs_message_id,
                    )
                )
        return received

    def delete(self, message: QueuedMessage) -> None:
        with self._lock:
            self._messages = [m for m in self._messages if m.receipt_handle != message.receipt_handle]

    def pending(self) -> list[Envelope]:
        """Every message still in the queues (visible or not), oldest first."""
        with self._lock:
            return [Envelope.from_json(m.body) for m in self._messages]

    def visible_at(self, message_id: str) -> float | None:
        with self._lock:
            for stored in self._messages:
                if Envelope.from_json(stored.body).id == message_id:
                    return stored.visible_at
        return None

    def _by_receipt(self, receipt_handle: str) -> _Stored:
        for stored in self._messages:
            if stored.receipt_handle == receipt_handle:
                return stored
        raise KeyError(f"receipt handle {receipt_handle!r} is not in flight")
