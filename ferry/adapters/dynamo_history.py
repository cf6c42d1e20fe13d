"""DynamoHistory: the History port over the one table, one adapter per record kind (messages,
log events, cancel marks, schedule firings, DLQ entries). Keys: docs/storage.md. Every item
carries `ttl` (epoch seconds) so retention is DynamoDB's free TTL deletion."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ferry.adapters.dynamo_dead_letters import DynamoDeadLetters
from ferry.adapters.dynamo_dedup import DynamoDedup
from ferry.adapters.dynamo_log_events import HISTORY_LEVELS, LOG_SHARDS, DynamoLogEvents, log_shard
from ferry.adapters.dynamo_message_marks import DynamoCancels, DynamoFirings
from ferry.adapters.dynamo_messages import DynamoMessages
from ferry.adapters.dynamo_table import DynamoTable, Retention
from ferry.domain.envelope import Envelope
from ferry.domain.history import DeadLetterEntry, LogEvent
from ferry.domain.queries import Query
from ferry.usecases.ports import Clock

__all__ = ["HISTORY_LEVELS", "LOG_SHARDS", "DynamoDedup", "DynamoHistory", "log_shard"]


class DynamoHistory:
    def __init__(
        self,
        client: Any,
        *,
        table_name: str,
        retention_days: int,
        dlq_retention_days: int,
        clock: Clock,
        table: DynamoTable | None = None,
        level: str = "full",
    ) -> None:
        table = table or DynamoTable(client, table_name)
        retention = Retention(clock, retention_days)
        self.messages = DynamoMessages(table, retention)
        self.log_events = DynamoLogEvents(table, retention, level=level)
        self.cancels = DynamoCancels(table, retention)
        self.firings = DynamoFirings(table, retention)
        self.dead_letters = DynamoDeadLetters(table, Retention(clock, dlq_retention_days))
        self._table = table

    # --- messages and their events ---------------------------------------------------------

    def message_created(self, envelope: Envelope, event: LogEvent) -> None:
        # One item, one write: the message carries its CREATED event (and, at the `full` level,
        # the time index keys that list it).
        self._table.put({**self.log_events.created_fields(event), **self.messages.item(envelope)})

    def record(self, envelope: Envelope, events: Sequence[LogEvent]) -> None:
        self.log_events.record(events)

    def get_envelope(self, message_id: str) -> Envelope | None:
        return self.messages.get(message_id)

    def state(self, message_id: str) -> str | None:
        return self.log_events.state(message_id)

    def events(self, message_id: str) -> list[LogEvent]:
        return self.log_events.events(message_id)

    def query_events(self, query: Query) -> list[LogEvent]:
        return self.log_events.query(query)

    # --- cancellation ----------------------------------------------------------------------

    def request_cancel(self, message_id: str, now_ms: int, not_before_ms: int = 0) -> bool:
        return self.cancels.request(message_id, now_ms, not_before_ms)

    def cancel_requested(self, message_id: str, created_ms: int | None = None) -> bool:
        return self.cancels.requested(message_id, created_ms)

    # --- schedule firings ------------------------------------------------------------------

    def schedule_fired(self, schedule_id: str, message_id: str, time_ms: int) -> None:
        self.firings.fired(schedule_id, message_id, time_ms)

    def last_firing(self, schedule_id: str) -> tuple[str, int] | None:
        return self.firings.last(schedule_id)

    # --- dead letters ----------------------------------------------------------------------

    def put_dead_letter(self, entry: DeadLetterEntry) -> None:
        self.dead_letters.put(entry)

    def get_dead_letter(self, dlq_id: str) -> DeadLetterEntry | None:
        return self.dead_letters.get(dlq_id)

    def take_dead_letter(self, dlq_id: str) -> DeadLetterEntry | None:
        return self.dead_letters.take(dlq_id)

    def restore_dead_letter(self, entry: DeadLetterEntry) -> None:
        self.dead_letters.restore(entry)

    def query_dead_letters(self, query: Query) -> list[DeadLetterEntry]:
        return self.dead_letters.query(query)
