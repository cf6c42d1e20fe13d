"""The dead-letter queue through the API: list, get, delete, retry (a retry is a new message)."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace

from ferry.domain.errors import InvalidInput, NotFound, Unavailable
from ferry.domain.history import DeadLetterEntry, LogEvent, State
from ferry.domain.limits import Limits
from ferry.domain.queries import Query, page
from ferry.domain.retry_overrides import parse_retry_overrides
from ferry.usecases.bulk import BulkResult, run_bulk
from ferry.usecases.ports import Clock, History, MessageQueue
from ferry.usecases.publish_message import PublishResult, new_message_id

log = logging.getLogger("ferry.dead_letters")

# Upper bound of entries one bulk delete or retry works through (a guard, not a product limit).
MAX_BULK = 10_000


class DeadLetters:
    def __init__(
        self,
        *,
        history: History,
        queue: MessageQueue,
        clock: Clock,
        limits: Limits,
        allow_private: bool,
        new_id: Callable[[], str] = new_message_id,
        bulk_budget_seconds: float = 20.0,
    ) -> None:
        self._bulk_budget = bulk_budget_seconds
        self._history = history
        self._queue = queue
        self._clock = clock
        self._limits = limits
        self._allow_private = allow_private
        self._new_id = new_id

    def list(self, query: Query) -> tuple[list[DeadLetterEntry], str | None]:
        return page(self._history.query_dead_letters(query), query.count)

    def get(self, dlq_id: str) -> DeadLetterEntry:
        entry = self._history.get_dead_letter(dlq_id)
        if entry is None:
            raise NotFound(f"DLQ entry {dlq_id!r} not found (unknown id, already retried or deleted)")
        return entry

    def delete(self, dlq_id: str) -> None:
        if self._history.take_dead_letter(dlq_id) is None:
            raise NotFound(f"DLQ entry {dlq_id!r} not found (unknown id, already retried or deleted)")

    def select(self, *, ids: Iterable[str] = (), query: Query | None = None) -> list[str]:
        """The DLQ ids named, or every entry matching the filters (all pages)."""
        ids = list(ids)
        if ids:
            return ids
        query = query or Query()
        selected: list[str] = []
        while len(selected) < MAX_BULK:
            entries, cursor = self.list(query)
            selected.extend(e.dlq_id for e in entries)
            if cursor is None:
                break
            query = replace(query, cursor=int(cursor))
        return selected[:MAX_BULK]

    def retry_many(
        self, ids: Iterable[str], overrides: Mapping[str, str] | None = None
    ) -> BulkResult[PublishResult]:
        """Retry each entry still in the DLQ; ids already retried, deleted or unknown are skipped."""

        def retry_known(dlq_id: str) -> PublishResult | None:
            try:
                return self.retry(dlq_id, overrides)
            except (NotFound, InvalidInput):
                # Gone meanwhile, or not retryable through the API (body only in the SQS DLQ): the
                # others still go. (Unavailable propagates: a 503 the caller repeats.)
                return None

        run = run_bulk(ids, retry_known, clock=self._clock, budget_seconds=self._bulk_budget)
        return BulkResult(results=[r for r in run.results if r is not None], complete=run.complete)

    def delete_many(self, ids: Iterable[str]) -> BulkResult[bool]:
        def delete_known(dlq_id: str) -> bool:
            return self._history.take_dead_letter(dlq_id) is not None

        run = run_bulk(ids, delete_known, clock=self._clock, budget_seconds=self._bulk_budget)
        return BulkResult(results=[r for r in run.results if r], complete=run.complete)

    def retry(self, dlq_id: str, overrides: Mapping[str, str] | None = None) -> PublishResult:
        current = self.get(dlq_id)
        if not current.body_stored:
            raise InvalidInput(
                f"DLQ entry {dlq_id!r} holds a body too large to keep in the DLQ index; redrive it from the "
                "SQS dead-letter queue instead (AWS console: Start DLQ redrive; see docs/dlq.md)",
                field="dlqId",
            )
        stored = current.envelope
        now_ms = int(self._clock.now() * 1000)
        # Publish configuration headers on the retry request override the stored ones; checked
        # before the entry is taken, so a bad header (400) leaves it in the DLQ.
        changes = parse_retry_overrides(
            overrides or {},
            stored=stored,
            now_ms=now_ms,
            limits=self._limits,
            allow_private=self._allow_private,
        )
        entry = self._history.take_dead_letter(dlq_id)
        if entry is None:
            raise NotFound(f"DLQ entry {dlq_id!r} not found (unknown id, already retried or deleted)")
        envelope = stored.model_copy(
            update={
                **changes.updates,
                "id": self._new_id(),
                "created_at": now_ms,
                "not_before": now_ms + changes.delay_seconds * 1000,
                "retried_offset": 0,
                "dlq_id": None,
            }
        )
        try:
            self._history.message_created(
                envelope, LogEvent.of(envelope, State.CREATED, now_ms, next_delivery_ms=envelope.not_before)
            )
            # Beyond SQS's 15 minutes the dispatcher re-enqueues until `not_before` (delay hops).
            self._queue.send(
                envelope, delay_seconds=min(changes.delay_seconds, self._limits.max_sqs_delay_seconds)
            )
        except Exception as exc:
            # The entry was taken to make the retry exactly-once; put it back so a failed enqueue
            # loses nothing and the caller can simply retry again.
            try:
                self._history.restore_dead_letter(entry)
            except Exception:
                # (No body in logs: the message itself is still in the SQS dead-letter queue.)
                log.exception("DLQ entry %s (message %s) could not be put back", dlq_id, stored.id)
                raise
            with contextlib.suppress(Exception):
                # The new id was never returned to anyone: end its log instead of leaving it CREATED.
                self._history.record(
                    envelope, [LogEvent.of(envelope, State.CANCELED, now_ms, error="not enqueued")]
                )
            raise Unavailable(
                f"DLQ entry {dlq_id!r} could not be re-enqueued and is still in the DLQ; retry ({exc})"
            ) from exc
        return PublishResult(message_id=envelope.id, url=envelope.destination)
