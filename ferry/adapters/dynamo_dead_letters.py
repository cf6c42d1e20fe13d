"""DynamoDeadLetters: the DLQ entries the API lists, retries and deletes.

DLQ entry    pk=DLQ#<dlqId>  sk=DLQ   gsi1pk=DLQ  gsi1sk=<ms:013>#<dlqId>
"""

from __future__ import annotations

from typing import Any

from ferry.adapters.dynamo_log_events import in_range, time_bounds
from ferry.adapters.dynamo_table import DynamoTable, Retention, response_attributes, response_of
from ferry.domain.envelope import Envelope
from ferry.domain.history import DeadLetterEntry
from ferry.domain.queries import Query


def _item(entry: DeadLetterEntry, ttl: int) -> dict[str, Any]:
    stored = entry.stored()
    envelope = stored.envelope
    return {
        "pk": f"DLQ#{entry.dlq_id}",
        "sk": "DLQ",
        "gsi1pk": "DLQ",
        "gsi1sk": f"{entry.time_ms:013d}#{entry.dlq_id}",
        "dlqId": entry.dlq_id,
        "messageId": envelope.id,
        "url": envelope.destination,
        "time": entry.time_ms,
        "envelope": envelope.to_json(),
        "bodyStored": stored.body_stored,
        "reason": stored.reason,
        "ttl": ttl,
        **response_attributes(stored.response_status, stored.response_headers, stored.response_body),
        "queueName": envelope.queue,
        "scheduleId": envelope.schedule_id,
        "topicName": envelope.url_group,
        "callerIp": envelope.caller_ip,
        "flowControlKey": envelope.flow_control.key if envelope.flow_control else None,
        "labels": set(envelope.labels) or None,
    }


def _entry(values: dict[str, Any]) -> DeadLetterEntry:
    return DeadLetterEntry(
        dlq_id=values["dlqId"],
        envelope=Envelope.from_json(values["envelope"]),
        time_ms=values["time"],
        reason=values.get("reason", ""),
        **response_of(values),
        body_stored=values.get("bodyStored", True),
    )


class DynamoDeadLetters:
    def __init__(self, table: DynamoTable, retention: Retention) -> None:
        self._table = table
        self._retention = retention

    def put(self, entry: DeadLetterEntry) -> None:
        self._table.put(_item(entry, self._retention.ttl_from(entry.time_ms)))

    def get(self, dlq_id: str) -> DeadLetterEntry | None:
        values = self._table.get(f"DLQ#{dlq_id}", "DLQ", consistent=True)
        return _entry(values) if values else None

    def take(self, dlq_id: str) -> DeadLetterEntry | None:
        values = self._table.take(f"DLQ#{dlq_id}", "DLQ")
        return _entry(values) if values else None

    def restore(self, entry: DeadLetterEntry) -> None:
        # Only if nothing took its place: a concurrent redrive may have written it again meanwhile.
        self._table.put_if_absent(_item(entry, self._retention.ttl_from(entry.time_ms)))

    def query(self, query: Query, *, max_pages: int = 50) -> list[DeadLetterEntry]:
        if "dlqId" in query.filters:
            found = [e for dlq_id in query.filters["dlqId"] if (e := self.get(dlq_id))]
        else:
            found = self._query_index(query, max_pages)
        found = [e for e in found if in_range(e.time_ms, query) and query.matches(e.filter_fields())]
        found.sort(key=lambda e: (e.time_ms, e.dlq_id), reverse=True)
        return found

    def _query_index(self, query: Query, max_pages: int) -> list[DeadLetterEntry]:
        bounds, values = time_bounds(query)
        pages = self._table.pages(
            IndexName="gsi1",
            KeyConditionExpression="gsi1pk = :p" + bounds,
            ExpressionAttributeValues={":p": {"S": "DLQ"}, **{k: {"S": v} for k, v in values.items()}},
            ScanIndexForward=False,
            Limit=max(query.count + 1, 50),
        )
        matched: list[DeadLetterEntry] = []
        for _, page in zip(range(max_pages), pages, strict=False):
            matched.extend(e for e in map(_entry, page) if query.matches(e.filter_fields()))
            if len(matched) > query.count:
                break
        return matched
