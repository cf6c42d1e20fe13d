"""Message management: get, cancel one, cancel many (by ids, by filters, or all)."""

from __future__ import annotations

from collections.abc import Iterable

from ferry.domain.envelope import Envelope
from ferry.domain.errors import NotFound
from ferry.domain.history import TERMINAL_STATES, LogEvent, State
from ferry.domain.queries import Query
from ferry.usecases.bulk import BulkResult, run_bulk
from ferry.usecases.ports import Clock, History

# Upper bound of messages one bulk cancel looks at (a guard, not a product limit).
MAX_BULK = 10_000


class Messages:
    def __init__(self, *, history: History, clock: Clock, bulk_budget_seconds: float = 20.0) -> None:
        self._history = history
        self._clock = clock
        self._bulk_budget = bulk_budget_seconds

    def get(self, message_id: str) -> tuple[Envelope, str | None]:
        envelope = self._history.get_envelope(message_id)
        if envelope is None:
            raise NotFound(f"message {message_id!r} not found (unknown id, or past its retention)")
        return envelope, self._history.state(message_id)

    def cancel(self, message_id: str) -> int:
        """Cancel one message; 1 if a cancel was requested, 0 if it had already finished."""
        envelope = self._history.get_envelope(message_id)
        if envelope is None:
            raise NotFound(f"message {message_id!r} not found (unknown id, or past its retention)")
        return self._cancel(envelope)

    def cancel_many(self, *, ids: Iterable[str] = (), query: Query | None = None) -> BulkResult[int]:
        """Cancel the messages named, or every not-yet-finished one matching the filters; each
        result is 1 for a cancel requested, 0 for a message already finished or unknown."""
        # The budget covers finding the candidates too: with thousands pending, the listing alone
        # can take seconds, and the answer must still come before API Gateway gives up.
        started = self._clock.now()
        ids = list(ids) or self._candidate_ids(query or Query())
        remaining = max(0.0, self._bulk_budget - (self._clock.now() - started))
        return run_bulk(ids, self._cancel_id, clock=self._clock, budget_seconds=remaining)

    def _candidate_ids(self, query: Query) -> list[str]:
        created_only = Query(
            filters={**query.filters, "state": ("CREATED",)},
            from_ms=query.from_ms,
            to_ms=query.to_ms,
            count=MAX_BULK,
        )
        events = self._history.query_events(created_only)[:MAX_BULK]
        return list(dict.fromkeys(event.message_id for event in events))

    def _cancel_id(self, message_id: str) -> int:
        envelope = self._history.get_envelope(message_id)
        return 0 if envelope is None else self._cancel(envelope)

    def _cancel(self, envelope: Envelope) -> int:
        state = self._history.state(envelope.id)
        if state in TERMINAL_STATES:
            return 0
        now_ms = int(self._clock.now() * 1000)
        if not self._history.request_cancel(envelope.id, now_ms, envelope.not_before):
            return 0
        self._history.record(
            envelope,
            [LogEvent.of(envelope, State.CANCEL_REQUESTED, now_ms)],
        )
        return 1
