"""InMemoryQueue: the message queues with SQS's semantics that delivery relies on: delays,
visibility timeouts, receive counts, one FIFO group per queue name, and dead-letter queues."""

from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass

from ferry.domain.envelope import Envelope
from ferry.domain.limits import SQS_MAX_DELAY_SECONDS
from ferry.usecases.ports import Clock, QueuedMessage, ReceivedMessage

STANDARD = "memory://queue"
FIFO = "memory://queue.fifo"
FIFO_DEDUP_SECONDS = 300


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
    def __init__(self, clock: Clock, *, visibility_timeout_seconds: int = 1_980) -> None:
        self._clock = clock
        self._visibility = visibility_timeout_seconds
        self._messages: list[_Stored] = []
        self.dead_letters: list[DeadLettered] = []
        self.unreadable: list[tuple[str, str]] = []
        self._fifo_sent: dict[str, float] = {}
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def url_for(self, source: str) -> str:
        return FIFO if source.endswith(".fifo") else STANDARD

    def send(self, envelope: Envelope, *, delay_seconds: int) -> None:
        self.send_raw(
            envelope.to_json(),
            queue=envelope.queue,
            delay_seconds=delay_seconds,
            deduplication_id=envelope.id,
        )

    def send_raw(
        self,
        body: str,
        *,
        queue: str | None = None,
        delay_seconds: int = 0,
        deduplication_id: str | None = None,
    ) -> None:
        """Put any body on the queue (what another writer, or corruption, could leave there)."""
        with self._lock:
            now = self._clock.now()
            if queue and deduplication_id:
                # FIFO deduplication: a repeated id within five minutes is accepted and dropped.
                if self._fifo_sent.get(deduplication_id, -FIFO_DEDUP_SECONDS) > now - FIFO_DEDUP_SECONDS:
                    return
                self._fifo_sent[deduplication_id] = now
            number = next(self._ids)
            if queue:
                # FIFO queues take no per-message delay; the group is the queue name.
                stored = _Stored(f"sqs-{number}", body, FIFO, self._clock.now(), group=queue)
            else:
                delay = max(0, min(delay_seconds, SQS_MAX_DELAY_SECONDS))
                stored = _Stored(f"sqs-{number}", body, STANDARD, self._clock.now() + delay)
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

    def dead_letter_unreadable(self, message: ReceivedMessage, *, reason: str) -> None:
        with self._lock:
            self.unreadable.append((message.body, reason[:1000]))

    # --- what the event source mapping does -------------------------------------------------

    def receive(self, max_messages: int = 10) -> list[QueuedMessage]:
        """Visible messages, read as envelopes (see `receive_raw`)."""
        return [message.read() for message in self.receive_raw(max_messages)]

    def receive_raw(self, max_messages: int = 10) -> list[ReceivedMessage]:
        """Visible messages, each hidden for the visibility timeout and its receive count raised.
        A FIFO group yields only its oldest message while that one is in flight."""
        now = self._clock.now()
        received: list[ReceivedMessage] = []
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
                    ReceivedMessage(
                        body=stored.body,
                        receive_count=stored.receive_count,
                        receipt_handle=stored.receipt_handle,
                        queue_url=stored.queue_url,
                        sqs_message_id=stored.sqs_message_id,
                    )
                )
        return received

    def delete(self, message: QueuedMessage | ReceivedMessage) -> None:
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

    def wake(self, queue_url: str, receipt_handle: str) -> None:
        """Make the message of this receipt handle visible now; nothing when it is gone."""
        with self._lock:
            for stored in self._messages:
                if stored.receipt_handle == receipt_handle and stored.queue_url == queue_url:
                    stored.visible_at = self._clock.now()

    def _by_receipt(self, receipt_handle: str) -> _Stored:
        for stored in self._messages:
            if stored.receipt_handle == receipt_handle:
                return stored
        raise KeyError(f"receipt handle {receipt_handle!r} is not in flight")


class InMemoryHeldHeads:
    """The HeldHeads port on an InMemoryQueue: waking a hidden message makes it visible now, as
    ChangeMessageVisibility(0) does; a receipt handle no longer in flight (deleted, or received
    again since) wakes nothing."""

    def __init__(self, queue: InMemoryQueue) -> None:
        self._queue = queue

    def wake(self, queue_url: str, receipt_handle: str) -> None:
        self._queue.wake(queue_url, receipt_handle)
