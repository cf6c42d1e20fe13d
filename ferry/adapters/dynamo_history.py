"""DynamoHistory and DynamoDedup: message history, log events and dedup claims in the one table.

Key design (see docs/storage.md):
  message      pk=MSG#<id>     sk=MSG                                   immutable, written at publish
  log event    pk=MSG#<id>     sk=EVT#<ms:013>#<seq:02>                 append-only, one per transition
               gsi1pk=LOG#<shard>  gsi1sk=<ms:013>#<id>#<seq:02>        all events by time, sharded
  cancel       pk=MSG#<id>     sk=CANCEL                                checked before every attempt
  last firing  pk=SCHED#<id>   sk=LAST                                  the schedule's latest message
  DLQ entry    pk=DLQ#<dlqId>  sk=DLQ   gsi1pk=DLQ  gsi1sk=<ms:013>#<dlqId>
  dedup claim  pk=DEDUP#<key>  sk=DEDUP                                 conditional put, TTL = window
Every item carries `ttl` (epoch seconds) so retention is DynamoDB's free TTL deletion.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import secrets
import zlib
from collections.abc import Mapping, Sequence
from typing import Any

from ferry.domain.envelope import Envelope
from ferry.domain.history import LogEvent
from ferry.domain.queries import Query
from ferry.usecases.ports import Clock, DeadLetter

LOG_SHARDS = 8
# Items are limited to 400 KB; larger bodies are left out of the stored message (the queue still
# carries them to the destination).
MAX_STORED_BODY_BYTES = 200_000
MAX_STORED_RESPONSE_BYTES = 4_096


def log_shard(message_id: str) -> int:
    return zlib.crc32(message_id.encode()) % LOG_SHARDS


def _s(value: str) -> dict[str, str]:
    return {"S": value}


def _n(value: int | float) -> dict[str, str]:
    return {"N": str(int(value))}


class DynamoHistory:
    def __init__(
        self, client: Any, *, table_name: str, retention_days: int, dlq_retention_days: int, clock: Clock
    ) -> None:
        self._ddb = client
        self._table = table_name
        self._retention_seconds = retention_days * 86_400
        self._dlq_retention_seconds = dlq_retention_days * 86_400
        self._clock = clock

    def _ttl(self, not_before_ms: int = 0) -> dict[str, str]:
        # Kept for the retention period after the message is due, so a message delayed for months
        # stays readable and cancellable until then.
        return _n(max(self._clock.now(), not_before_ms / 1000) + self._retention_seconds)

    def message_created(self, envelope: Envelope, event: LogEvent) -> None:
        stored = self._storable(envelope)
        item = {
            "pk": _s(f"MSG#{envelope.id}"),
            "sk": _s("MSG"),
            "envelope": _s(stored.to_json()),
            "bodyStored": {"BOOL": stored is envelope},
            "createdAt": _n(envelope.created_at),
            "ttl": self._ttl(envelope.not_before),
        }
        self._write([{"PutRequest": {"Item": item}}, *self._event_requests([event])])

    @staticmethod
    def _storable(envelope: Envelope) -> Envelope:
        """The envelope as it fits a DynamoDB item (400 KB): large bodies are left out."""
        if len(envelope.body) > MAX_STORED_BODY_BYTES:
            return envelope.model_copy(update={"body": "", "body_encoding": "utf8"})
        return envelope

    def record(self, envelope: Envelope, events: Sequence[LogEvent]) -> None:
        self._write(self._event_requests(events))

    def _event_requests(self, events: Sequence[LogEvent]) -> list[dict[str, Any]]:
        requests = []
        # A random tag keeps two writers that log the same message in the same millisecond apart.
        tag = secrets.token_hex(2)
        for seq, event in enumerate(events):
            order = f"{event.time_ms:013d}#{event.message_id}#{seq:02d}{tag}"
            item: dict[str, Any] = {
                "pk": _s(f"MSG#{event.message_id}"),
                "sk": _s(f"EVT#{event.time_ms:013d}#{seq:02d}{tag}"),
                "gsi1pk": _s(f"LOG#{log_shard(event.message_id)}"),
                "gsi1sk": _s(order),
                "messageId": _s(event.message_id),
                "state": _s(str(event.state)),
                "time": _n(event.time_ms),
                "url": _s(event.url),
                "retried": _n(event.retried),
                "ttl": self._ttl(),
            }
            if event.response_status is not None:
                item["responseStatus"] = _n(event.response_status)
            if event.response_headers:
                item["responseHeader"] = _s(json.dumps(dict(event.response_headers)))
            if event.response_body:
                clipped = event.response_body[:MAX_STORED_RESPONSE_BYTES]
                item["responseBody"] = _s(base64.b64encode(clipped).decode())
            if event.error:
                item["error"] = _s(event.error[:2000])
            if event.next_delivery_ms is not None:
                item["nextDeliveryTime"] = _n(event.next_delivery_ms)
            if event.dlq_id:
                item["dlqId"] = _s(event.dlq_id)
            if event.labels:
                item["labels"] = {"SS": list(event.labels)}
            if event.queue:
                item["queueName"] = _s(event.queue)
            if event.schedule_id:
                item["scheduleId"] = _s(event.schedule_id)
            if event.topic_name:
                item["topicName"] = _s(event.topic_name)
            if event.caller_ip:
                item["callerIp"] = _s(event.caller_ip)
            if event.flow_control_key:
                item["flowControlKey"] = _s(event.flow_control_key)
            requests.append({"PutRequest": {"Item": item}})
        return requests

    def _write(self, requests: list[dict[str, Any]]) -> None:
        for start in range(0, len(requests), 25):
            pending = {self._table: requests[start : start + 25]}
            for _ in range(8):
                response = self._ddb.batch_write_item(RequestItems=pending)
                pending = response.get("UnprocessedItems") or {}
                if not pending:
                    break
            else:
                raise RuntimeError("DynamoDB kept items unprocessed; history write incomplete")

    # --- reads -----------------------------------------------------------------------------

    def get_envelope(self, message_id: str) -> Envelope | None:
        response = self._ddb.get_item(
            TableName=self._table, Key={"pk": _s(f"MSG#{message_id}"), "sk": _s("MSG")}
        )
        item = response.get("Item")
        return Envelope.from_json(item["envelope"]["S"]) if item else None

    def events(self, message_id: str) -> list[dict[str, Any]]:
        """The message's log events, oldest first, as plain dicts."""
        return self._query_all(
            KeyConditionExpression="pk = :pk AND begins_with(sk, :evt)",
            ExpressionAttributeValues={":pk": _s(f"MSG#{message_id}"), ":evt": _s("EVT#")},
        )

    def state(self, message_id: str) -> str | None:
        response = self._ddb.query(
            TableName=self._table,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :evt)",
            ExpressionAttributeValues={":pk": _s(f"MSG#{message_id}"), ":evt": _s("EVT#")},
            ScanIndexForward=False,
            Limit=1,
            ConsistentRead=True,
        )
        items = response.get("Items") or []
        return items[0]["state"]["S"] if items else None

    def _query_all(self, **kwargs: Any) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        kwargs["TableName"] = self._table
        while True:
            response = self._ddb.query(**kwargs)
            items.extend(_plain(item) for item in response.get("Items", []))
            if "LastEvaluatedKey" not in response:
                return items
            kwargs["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def query_events(self, query: Query, *, max_pages_per_shard: int = 20) -> list[dict[str, Any]]:
        """Log events matching `query`, newest first; at least `query.count + 1` when there are that many
        (so the caller can tell whether another page exists)."""
        if "messageId" in query.filters:
            found = [e for mid in query.filters["messageId"] for e in self.events(mid)]
        else:
            found = []
            for shard in range(LOG_SHARDS):
                found.extend(self._query_index(f"LOG#{shard}", query, max_pages_per_shard))
        found = [e for e in found if self._in_range(e, query) and query.matches(e)]
        found.sort(key=lambda e: (e["time"], e.get("gsi1sk", e.get("sk", ""))), reverse=True)
        return found

    @staticmethod
    def _in_range(item: dict[str, Any], query: Query) -> bool:
        upper = query.upper_bound_ms()
        if upper is not None and item["time"] > upper:
            return False
        return not (query.from_ms is not None and item["time"] < query.from_ms)

    def _query_index(self, partition: str, query: Query, max_pages: int) -> list[dict[str, Any]]:
        values: dict[str, Any] = {":p": _s(partition)}
        condition = "gsi1pk = :p"
        upper, lower = query.upper_bound_ms(), query.from_ms
        if upper is not None and lower is not None:
            condition += " AND gsi1sk BETWEEN :lo AND :hi"
            values[":lo"], values[":hi"] = _s(f"{lower:013d}"), _s(f"{upper:013d}~")
        elif upper is not None:
            condition += " AND gsi1sk <= :hi"
            values[":hi"] = _s(f"{upper:013d}~")
        elif lower is not None:
            condition += " AND gsi1sk >= :lo"
            values[":lo"] = _s(f"{lower:013d}")
        kwargs: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": "gsi1",
            "KeyConditionExpression": condition,
            "ExpressionAttributeValues": values,
            "ScanIndexForward": False,
            "Limit": max(query.count + 1, 50),
        }
        matched: list[dict[str, Any]] = []
        for _ in range(max_pages):
            response = self._ddb.query(**kwargs)
            for item in response.get("Items", []):
                plain = _plain(item)
                if query.matches(plain):
                    matched.append(plain)
            if len(matched) > query.count or "LastEvaluatedKey" not in response:
                break
            kwargs["ExclusiveStartKey"] = response["LastEvaluatedKey"]
        return matched

    # --- cancellation ----------------------------------------------------------------------

    def request_cancel(self, message_id: str, now_ms: int, not_before_ms: int = 0) -> bool:
        """Mark the message cancelled; False when it was already marked."""
        try:
            self._ddb.put_item(
                TableName=self._table,
                Item={
                    "pk": _s(f"MSG#{message_id}"),
                    "sk": _s("CANCEL"),
                    "time": _n(now_ms),
                    "ttl": self._ttl(not_before_ms),
                },
                ConditionExpression="attribute_not_exists(pk)",
            )
            return True
        except self._ddb.exceptions.ConditionalCheckFailedException:
            return False

    def cancel_requested(self, message_id: str) -> bool:
        response = self._ddb.get_item(
            TableName=self._table,
            Key={"pk": _s(f"MSG#{message_id}"), "sk": _s("CANCEL")},
            ConsistentRead=True,
            ProjectionExpression="pk",
        )
        return "Item" in response

    # --- schedule firings -------------------------------------------------------------------

    def schedule_fired(self, schedule_id: str, message_id: str, time_ms: int) -> None:
        self._ddb.put_item(
            TableName=self._table,
            Item={
                "pk": _s(f"SCHED#{schedule_id}"),
                "sk": _s("LAST"),
                "messageId": _s(message_id),
                "time": _n(time_ms),
                "ttl": self._ttl(),
            },
        )

    def last_firing(self, schedule_id: str) -> tuple[str, int] | None:
        item = self._ddb.get_item(
            TableName=self._table, Key={"pk": _s(f"SCHED#{schedule_id}"), "sk": _s("LAST")}
        ).get("Item")
        return (item["messageId"]["S"], int(item["time"]["N"])) if item else None

    # --- dead letters ----------------------------------------------------------------------

    def put_dead_letter(self, entry: DeadLetter) -> None:
        item: dict[str, Any] = {
            "pk": _s(f"DLQ#{entry.dlq_id}"),
            "sk": _s("DLQ"),
            "gsi1pk": _s("DLQ"),
            "gsi1sk": _s(f"{entry.time_ms:013d}#{entry.dlq_id}"),
            "dlqId": _s(entry.dlq_id),
            "messageId": _s(entry.envelope.id),
            "url": _s(entry.envelope.destination),
            "time": _n(entry.time_ms),
            "envelope": _s(self._storable(entry.envelope).to_json()),
            "bodyStored": {"BOOL": self._storable(entry.envelope) is entry.envelope},
            "reason": _s(entry.reason[:2000]),
            "ttl": _n(self._clock.now() + self._dlq_retention_seconds),
        }
        if entry.response_status is not None:
            item["responseStatus"] = _n(entry.response_status)
        if entry.response_headers:
            item["responseHeader"] = _s(json.dumps(dict(entry.response_headers)))
        if entry.response_body:
            item["responseBody"] = _s(
                base64.b64encode(entry.response_body[:MAX_STORED_RESPONSE_BYTES]).decode()
            )
        for attribute, value in (
            ("queueName", entry.envelope.queue),
            ("scheduleId", entry.envelope.schedule_id),
            ("topicName", entry.envelope.url_group),
            ("callerIp", entry.envelope.caller_ip),
            ("flowControlKey", entry.envelope.flow_control.key if entry.envelope.flow_control else None),
        ):
            if value:
                item[attribute] = _s(value)
        if entry.envelope.labels:
            item["labels"] = {"SS": list(entry.envelope.labels)}
        self._ddb.put_item(TableName=self._table, Item=item)

    def get_dead_letter(self, dlq_id: str) -> dict[str, Any] | None:
        item = self._ddb.get_item(
            TableName=self._table, Key={"pk": _s(f"DLQ#{dlq_id}"), "sk": _s("DLQ")}, ConsistentRead=True
        ).get("Item")
        return _plain(item) if item else None

    def take_dead_letter(self, dlq_id: str) -> dict[str, Any] | None:
        """Delete the entry and return it; None if it was already gone. Exactly one caller wins, so a
        DLQ entry is retried, redriven or deleted once."""
        response = self._ddb.delete_item(
            TableName=self._table, Key={"pk": _s(f"DLQ#{dlq_id}"), "sk": _s("DLQ")}, ReturnValues="ALL_OLD"
        )
        item = response.get("Attributes")
        return _plain(item) if item else None

    def restore_dead_letter(self, entry: Mapping[str, Any]) -> None:
        item = {key: _typed(value) for key, value in entry.items()}
        # Only if nothing took its place: a concurrent redrive may have written it again meanwhile.
        with contextlib.suppress(self._ddb.exceptions.ConditionalCheckFailedException):
            self._ddb.put_item(
                TableName=self._table, Item=item, ConditionExpression="attribute_not_exists(pk)"
            )

    def query_dead_letters(self, query: Query) -> list[dict[str, Any]]:
        if "dlqId" in query.filters:
            found = [e for dlq_id in query.filters["dlqId"] if (e := self.get_dead_letter(dlq_id))]
            found = [e for e in found if self._in_range(e, query) and query.matches(e)]
        else:
            found = self._query_index("DLQ", query, max_pages=50)
            found = [e for e in found if self._in_range(e, query)]
        found.sort(key=lambda e: (e["time"], e["dlqId"]), reverse=True)
        return found


def _typed(value: Any) -> dict[str, Any]:
    """The inverse of `_plain` for one attribute."""
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, int | float):
        return _n(value)
    if isinstance(value, list | tuple | set):
        return {"SS": list(value)}
    return _s(value)


def _plain(item: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in item.items():
        ((kind, raw),) = value.items()
        out[key] = int(raw) if kind == "N" else (sorted(raw) if kind == "SS" else raw)
    return out


class DynamoDedup:
    def __init__(self, client: Any, *, table_name: str, clock: Clock) -> None:
        self._ddb = client
        self._table = table_name
        self._clock = clock

    @staticmethod
    def _key(key: str) -> dict[str, str]:
        # A partition key holds at most 2048 bytes; a long deduplication id (plus a URL-group
        # endpoint) is hashed instead of being refused by DynamoDB.
        if len(key.encode()) > 1024:
            key = "sha256:" + hashlib.sha256(key.encode()).hexdigest()
        return _s(f"DEDUP#{key}")

    def claim(self, key: str, message_id: str, *, expires_at: int) -> str | None:
        pk = self._key(key)
        try:
            # TTL deletion lags by up to two days, so an expired claim counts as free.
            self._ddb.put_item(
                TableName=self._table,
                Item={"pk": pk, "sk": _s("DEDUP"), "messageId": _s(message_id), "ttl": _n(expires_at)},
                ConditionExpression="attribute_not_exists(pk) OR #ttl < :now",
                ExpressionAttributeNames={"#ttl": "ttl"},
                ExpressionAttributeValues={":now": _n(self._clock.now())},
            )
            return None
        except self._ddb.exceptions.ConditionalCheckFailedException:
            item = self._ddb.get_item(
                TableName=self._table, Key={"pk": pk, "sk": _s("DEDUP")}, ConsistentRead=True
            ).get("Item")
            return item["messageId"]["S"] if item else None

    def release(self, key: str, message_id: str) -> None:
        with contextlib.suppress(self._ddb.exceptions.ConditionalCheckFailedException):
            self._ddb.delete_item(
                TableName=self._table,
                Key={"pk": self._key(key), "sk": _s("DEDUP")},
                ConditionExpression="messageId = :id",
                ExpressionAttributeValues={":id": _s(message_id)},
            )
