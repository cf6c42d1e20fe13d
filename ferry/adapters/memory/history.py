"""InMemoryHistory: messages, log events, cancel marks, schedule firings and DLQ entries in dicts,
kept as the DynamoDB adapters keep them (large bodies left out, responses clipped, labels a set)."""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Sequence

from ferry.domain.envelope import Envelope
from ferry.domain.history import DeadLetterEntry, LogEvent, storable
from ferry.domain.queries import Query


class InMemoryHistory:
    def __init__(self) -> None:
        self._messages: dict[str, Envelope] = {}
        # (write order, event): the DynamoDB sort keys carry the order as a sequence number.
        self._events: dict[str, list[tuple[int, LogEvent]]] = defaultdict(list)
        self._written = 0
        self._cancels: dict[str, int] = {}
        self._firings: dict[str, tuple[str, int]] = {}
        self._dead_letters: dict[str, DeadLetterEntry] = {}
        self._lock = threading.RLock()

    # --- messages and their events ---------------------------------------------------------

    def message_created(self, envelope: Envelope, event: LogEvent) -> None:
        with self._lock:
            self._messages[envelope.id] = storable(envelope)
            self.record(envelope, [event])

    def record(self, envelope: Envelope, events: Sequence[LogEvent]) -> None:
        with self._lock:
            for event in events:
                self._written += 1
                self._events[event.message_id].append((self._written, event.stored()))

    def get_envelope(self, message_id: str) -> Envelope | None:
        return self._messages.get(message_id)

    def state(self, message_id: str) -> str | None:
        events = self.events(message_id)
        return str(events[-1].state) if events else None

    def events(self, message_id: str) -> list[LogEvent]:
        with self._lock:
            written = self._events.get(message_id, [])
            return [e for _, e in sorted(written, key=lambda pair: (pair[1].time_ms, pair[0]))]

    def query_events(self, query: Query) -> list[LogEvent]:
        with self._lock:
            if "messageId" in query.filters:
                candidates = [p for mid in query.filters["messageId"] for p in self._events.get(mid, [])]
            else:
                candidates = [p for events in self._events.values() for p in events]
        found = [
            (n, e) for n, e in candidates if _in_range(e.time_ms, query) and query.matches(e.filter_fields())
        ]
        found.sort(key=lambda pair: (pair[1].time_ms, pair[1].message_id, pair[0]), reverse=True)
        return [e for _, e in found]

    # --- cancellation ----------------------------------------------------------------------

    def request_cancel(self, message_id: str, now_ms: int, not_before_ms: int = 0) -> bool:
        with self._lock:
            if message_id in self._cancels:
                return False
            self._cancels[message_id] = now_ms
            return True

    def cancel_requested(self, message_id: str, created_ms: int | None = None) -> bool:
        return message_id in self._cancels

    # --- schedule firings ------------------------------------------------------------------

    def schedule_fired(self, schedule_id: str, message_id: str, time_ms: int) -> None:
        with self._lock:
            self._firings[schedule_id] = (message_id, time_ms)

    def last_firing(self, schedule_id: str) -> tuple[str, int] | None:
        return self._firings.get(schedule_id)

    # --- dead letters ----------------------------------------------------------------------

    def put_dead_letter(self, entry: DeadLetterEntry) -> None:
        with self._lock:
            self._dead_letters[entry.dlq_id] = entry.stored()

    def get_dead_letter(self, dlq_id: str) -> DeadLetterEntry | None:
        return self._dead_letters.get(dlq_id)

    def take_dead_letter(self, dlq_id: str) -> DeadLetterEntry | None:
        with self._lock:
            return self._dead_letters.pop(dlq_id, None)

    def restore_dead_letter(self, entry: DeadLetterEntry) -> None:
        with self._lock:
            self._dead_letters.setdefault(entry.dlq_id, entry)

    def query_dead_letters(self, query: Query) -> list[DeadLetterEntry]:
        with self._lock:
            if "dlqId" in query.filters:
                candidates = [e for i in query.filters["dlqId"] if (e := self._dead_letters.get(i))]
            else:
                candidates = list(self._dead_letters.values())
        found = [e for e in candidates if _in_range(e.time_ms, query) and query.matches(e.filter_fields())]
        found.sort(key=lambda e: (e.time_ms, e.dlq_id), reverse=True)
        return found


def _matches(query: Query, event: LogEvent) -> bool:
    return query.matches(event.filter_fields())


def _in_range(time_ms: int, query: Query) -> bool:
    upper = query.upper_bound_ms()
    if upper is not None and time_ms > upper:
        return False
    return not (query.from_ms is not None and time_ms < query.from_ms)
