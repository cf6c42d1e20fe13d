"""DynamoLogEvents: a message's log events (one item per state transition) and the time index
over all of them.

  log event    pk=MSG#<id>     sk=EVT#<ms:013>#<seq:02><tag>            append-only
               gsi1pk=LOG#<shard>  gsi1sk=<ms:013>#<id>#<seq:02><tag>   all events by time, sharded
"""

from __future__ import annotations

import base64
import json
import secrets
import zlib
from collections.abc import Sequence
from typing import Any

from ferry.adapters.dynamo_table import DynamoTable, Retention
from ferry.domain.history import LogEvent, State
from ferry.domain.queries import Query

LOG_SHARDS = 8


def log_shard(message_id: str) -> int:
    return zlib.crc32(message_id.encode()) % LOG_SHARDS


def in_range(time_ms: int, query: Query) -> bool:
    upper = query.upper_bound_ms()
    if upper is not None and time_ms > upper:
        return False
    return not (query.from_ms is not None and time_ms < query.from_ms)


def time_bounds(query: Query) -> tuple[str, dict[str, Any]]:
    """The `gsi1sk` part of a key condition for the query's time range (sort keys start with ms)."""
    upper, lower = query.upper_bound_ms(), query.from_ms
    if upper is not None and lower is not None:
        return " AND gsi1sk BETWEEN :lo AND :hi", {":lo": f"{lower:013d}", ":hi": f"{upper:013d}~"}
    if upper is not None:
        return " AND gsi1sk <= :hi", {":hi": f"{upper:013d}~"}
    if lower is not None:
        return " AND gsi1sk >= :lo", {":lo": f"{lower:013d}"}
    return "", {}


def _event_item(event: LogEvent, seq: int, tag: str, ttl: int) -> dict[str, Any]:
    stored = event.stored()
    return {
        "pk": f"MSG#{event.message_id}",
        "sk": f"EVT#{event.time_ms:013d}#{seq:02d}{tag}",
        "gsi1pk": f"LOG#{log_shard(event.message_id)}",
        "gsi1sk": f"{event.time_ms:013d}#{event.message_id}#{seq:02d}{tag}",
        "messageId": event.message_id,
        "state": str(event.state),
        "time": event.time_ms,
        "url": event.url,
        "retried": event.retried,
        "ttl": ttl,
        "responseStatus": stored.response_status,
        "responseHeader": json.dumps(dict(stored.response_headers)) if stored.response_headers else None,
        "responseBody": base64.b64encode(stored.response_body).decode() if stored.response_body else None,
        "error": stored.error,
        "nextDeliveryTime": stored.next_delivery_ms,
        "dlqId": stored.dlq_id,
        "labels": set(stored.labels) or None,
        "queueName": stored.queue,
        "scheduleId": stored.schedule_id,
        "topicName": stored.topic_name,
        "callerIp": stored.caller_ip,
        "flowControlKey": stored.flow_control_key,
    }


def _event(values: dict[str, Any]) -> LogEvent:
    return LogEvent(
        message_id=values["messageId"],
        state=State(values["state"]),
        time_ms=values["time"],
        url=values["url"],
        retried=values.get("retried", 0),
        response_status=values.get("responseStatus"),
        response_headers=json.loads(values["responseHeader"]) if "responseHeader" in values else {},
        response_body=base64.b64decode(values["responseBody"]) if "responseBody" in values else None,
        error=values.get("error"),
        next_delivery_ms=values.get("nextDeliveryTime"),
        dlq_id=values.get("dlqId"),
        labels=tuple(sorted(values.get("labels", ()))),
        queue=values.get("queueName"),
        schedule_id=values.get("scheduleId"),
        topic_name=values.get("topicName"),
        caller_ip=values.get("callerIp"),
        flow_control_key=values.get("flowControlKey"),
    )


def _order(values: dict[str, Any]) -> tuple[int, str, str]:
    """Newest-first order across messages; the sequence keeps one write's events in order."""
    return values["time"], values["messageId"], values["sk"].rsplit("#", 1)[-1]


class DynamoLogEvents:
    def __init__(self, table: DynamoTable, retention: Retention) -> None:
        self._table = table
        self._retention = retention

    def items(self, events: Sequence[LogEvent]) -> list[dict[str, Any]]:
        # A random tag keeps two writers that log the same message in the same millisecond apart.
        tag = secrets.token_hex(2)
        ttl = self._retention.ttl()
        return [_event_item(event, seq, tag, ttl) for seq, event in enumerate(events)]

    def record(self, events: Sequence[LogEvent]) -> None:
        self._table.write(self.items(events))

    def events(self, message_id: str) -> list[LogEvent]:
        return [_event(v) for v in self._of_message(message_id)]

    def _of_message(self, message_id: str) -> list[dict[str, Any]]:
        return self._table.query_all(
            KeyConditionExpression="pk = :pk AND begins_with(sk, :evt)",
            ExpressionAttributeValues={":pk": {"S": f"MSG#{message_id}"}, ":evt": {"S": "EVT#"}},
        )

    def state(self, message_id: str) -> str | None:
        response = self._table.client.query(
            TableName=self._table.name,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :evt)",
            ExpressionAttributeValues={":pk": {"S": f"MSG#{message_id}"}, ":evt": {"S": "EVT#"}},
            ScanIndexForward=False,
            Limit=1,
            ConsistentRead=True,
        )
        items = response.get("Items") or []
        return items[0]["state"]["S"] if items else None

    def query(self, query: Query, *, max_pages_per_shard: int = 20) -> list[LogEvent]:
        if "messageId" in query.filters:
            found = [v for mid in query.filters["messageId"] for v in self._of_message(mid)]
        else:
            found = []
            for shard in range(LOG_SHARDS):
                found.extend(self._query_shard(shard, query, max_pages_per_shard))
        events = [(v, _event(v)) for v in found if in_range(v["time"], query)]
        matching = [(v, e) for v, e in events if query.matches(e.filter_fields())]
        matching.sort(key=lambda pair: _order(pair[0]), reverse=True)
        return [event for _, event in matching]

    def _query_shard(self, shard: int, query: Query, max_pages: int) -> list[dict[str, Any]]:
        bounds, values = time_bounds(query)
        matched: list[dict[str, Any]] = []
        pages = self._table.pages(
            IndexName="gsi1",
            KeyConditionExpression="gsi1pk = :p" + bounds,
            ExpressionAttributeValues={
                ":p": {"S": f"LOG#{shard}"},
                **{k: {"S": v} for k, v in values.items()},
            },
            ScanIndexForward=False,
            Limit=max(query.count + 1, 50),
        )
        for _, page in zip(range(max_pages), pages, strict=False):
            matched.extend(v for v in page if query.matches(_event(v).filter_fields()))
            if len(matched) > query.count:
                break
        return matched
