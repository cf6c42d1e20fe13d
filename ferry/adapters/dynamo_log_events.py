"""DynamoLogEvents: a message's log events and the time index over all of them.

  log event    pk=MSG#<id>     sk=EVT#<ms:013>#<seq:02><tag>            append-only
               gsi1pk=LOG#<shard>  gsi1sk=<ms:013>#<id>#<seq:02><tag>   all events by time, sharded
  CREATED      on the message item itself (pk=MSG#<id> sk=MSG, DynamoMessages): one write at publish

Write units are the biggest per-message cost (benchmarks/requests_per_message.py); every item
in the time index costs as much again in gsi1. The history level decides what it lists:
- `full`: every event, each its own item;
- `errors`: only failures and cancellations (ERROR, RETRY, FAILED, CANCEL_REQUESTED, CANCELED).
  Each message's own history stays complete, and an ACTIVE event written together with the
  outcome of its attempt is kept inside that outcome's item (`activeAt`) whenever nothing of it
  is lost: a first-attempt delivery is then one unindexed item, and the message item the other.
  The time-ordered log and filter-based bulk cancel see only messages that failed or were
  cancelled. (Folding is not done at `full`: an item is indexed at one time, and a page cut
  between an attempt's start and its outcome would lose the folded event.)
"""

from __future__ import annotations

import secrets
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import replace
from typing import Any

from ferry.adapters.dynamo_table import DynamoTable, Retention, response_attributes, response_of
from ferry.domain.history import LogEvent, State
from ferry.domain.queries import Query

LOG_SHARDS = 8
HISTORY_LEVELS = ("full", "errors")
# Left out of the time index at the `errors` level: what a message that never failed goes through.
SUCCESS_PATH = frozenset({State.CREATED, State.ACTIVE, State.DELIVERED})


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


def label_filter(query: Query) -> tuple[dict[str, Any], dict[str, Any]]:
    """(Query parameters, expression values) of a FilterExpression keeping only the items with
    one of the wanted labels (a string set), as `Query.matches` does after: pages are read as
    before (Limit counts items before the filter, and the reads cost the same), but only the
    matches come back to be parsed, not every item of every page (a label that nothing has
    returned whole shards)."""
    values = {f":label{i}": {"S": label} for i, label in enumerate(sorted(query.filters.get("labels", ())))}
    if not values:
        return {}, {}
    parameters = {
        "FilterExpression": " OR ".join(f"contains(#labels, {name})" for name in values),
        "ExpressionAttributeNames": {"#labels": "labels"},
    }
    return parameters, values


# The message's fields a log event repeats: (stored attribute, LogEvent attribute).
_MESSAGE_FIELDS = (
    ("method", "method"),
    ("maxRetries", "max_retries"),
    ("timeout", "timeout"),
    ("callback", "callback"),
    ("failureCallback", "failure_callback"),
    ("retryDelayExpr", "retry_delay"),
    ("endpointName", "endpoint_name"),
    ("parallelism", "parallelism"),
    ("rate", "rate"),
    ("period", "period"),
)


def indexed(state: State, level: str) -> bool:
    """Whether an item whose (last) event is in `state` enters the time index at `level`."""
    return level == "full" or state not in SUCCESS_PATH


def event_fields(event: LogEvent, seq: int, tag: str, ttl: int, *, level: str) -> dict[str, Any]:
    """The attributes that store `event` (on its own item, or on the message item for CREATED)."""
    stored = event.stored()
    fields = {
        "messageId": event.message_id,
        "state": str(event.state),
        "time": event.time_ms,
        "url": event.url,
        "retried": event.retried,
        "ttl": ttl,
        **response_attributes(stored.response_status, stored.response_headers, stored.response_body),
        "error": stored.error,
        "nextDeliveryTime": stored.next_delivery_ms,
        "dlqId": stored.dlq_id,
        "labels": set(stored.labels) or None,
        "queueName": stored.queue,
        "scheduleId": stored.schedule_id,
        "topicName": stored.topic_name,
        "callerIp": stored.caller_ip,
        "flowControlKey": stored.flow_control_key,
        **{name: getattr(stored, attribute) for name, attribute in _MESSAGE_FIELDS},
    }
    if indexed(event.state, level):
        fields["gsi1pk"] = f"LOG#{log_shard(event.message_id)}"
        fields["gsi1sk"] = f"{event.time_ms:013d}#{event.message_id}#{seq:02d}{tag}"
    return fields


def _event_item(
    event: LogEvent, seq: int, tag: str, ttl: int, *, level: str, active_at: int | None = None
) -> dict[str, Any]:
    return {
        "pk": f"MSG#{event.message_id}",
        "sk": f"EVT#{event.time_ms:013d}#{seq:02d}{tag}",
        **event_fields(event, seq, tag, ttl, level=level),
        "activeAt": active_at,
    }


def _active_before(event: LogEvent, time_ms: int) -> LogEvent:
    """The ACTIVE event an item folded into `event` stands for: the attempt's start."""
    return replace(
        event.stored(),
        state=State.ACTIVE,
        time_ms=time_ms,
        response_status=None,
        response_headers={},
        response_body=None,
        error=None,
        next_delivery_ms=None,
        dlq_id=None,
    )


def fold(events: Sequence[LogEvent], level: str) -> Iterator[tuple[LogEvent, int | None]]:
    """(event, start of the attempt it ends, if an ACTIVE event is folded into it), in order."""
    index = 0
    while index < len(events):
        event = events[index]
        following = events[index + 1] if index + 1 < len(events) else None
        if (
            level == "errors"
            and event.state is State.ACTIVE
            and following is not None
            and following.state is not State.ACTIVE
            and _active_before(following, event.time_ms) == event.stored()
        ):
            yield following, event.time_ms
            index += 2
        else:
            yield event, None
            index += 1


def _event(values: dict[str, Any]) -> LogEvent:
    return LogEvent(
        message_id=values["messageId"],
        state=State(values["state"]),
        time_ms=values["time"],
        url=values["url"],
        retried=values.get("retried", 0),
        **response_of(values),
        error=values.get("error"),
        next_delivery_ms=values.get("nextDeliveryTime"),
        dlq_id=values.get("dlqId"),
        labels=tuple(sorted(values.get("labels", ()))),
        queue=values.get("queueName"),
        schedule_id=values.get("scheduleId"),
        topic_name=values.get("topicName"),
        caller_ip=values.get("callerIp"),
        flow_control_key=values.get("flowControlKey"),
        **{attribute: values.get(name) for name, attribute in _MESSAGE_FIELDS},
    )


def _expanded(
    values: dict[str, Any], *, from_index: bool = False
) -> list[tuple[tuple[int, str, str, int], LogEvent]]:
    """The events one item holds, each with its place in time order: the item's own event, after
    the ACTIVE event folded into it (not listed by time: ACTIVE is not indexed where items fold).
    Items without an event (a message stored without one) hold none."""
    if "state" not in values:
        return []
    event = _event(values)
    # The sequence keeps one write's events in order; CREATED (the message item) comes first.
    seq = "" if values["sk"] == "MSG" else values["sk"].rsplit("#", 1)[-1]
    found = []
    if values.get("activeAt") is not None and not from_index:
        active = _active_before(event, values["activeAt"])
        found.append(((active.time_ms, event.message_id, seq, 0), active))
    found.append(((event.time_ms, event.message_id, seq, 1), event))
    return found


class DynamoLogEvents:
    def __init__(self, table: DynamoTable, retention: Retention, *, level: str = "full") -> None:
        if level not in HISTORY_LEVELS:
            raise ValueError(f"history level must be one of {HISTORY_LEVELS}, not {level!r}")
        self._table = table
        self._retention = retention
        self.level = level

    def items(self, events: Sequence[LogEvent]) -> list[dict[str, Any]]:
        # A random tag keeps two writers that log the same message in the same millisecond apart.
        tag = secrets.token_hex(2)
        ttl = self._retention.ttl()
        return [
            _event_item(event, seq, tag, ttl, level=self.level, active_at=active_at)
            for seq, (event, active_at) in enumerate(fold(events, self.level))
        ]

    def created_fields(self, event: LogEvent) -> dict[str, Any]:
        """The CREATED event's attributes, kept on the message item (one write at publish)."""
        return event_fields(event, 0, secrets.token_hex(2), self._retention.ttl(), level=self.level)

    def record(self, events: Sequence[LogEvent]) -> None:
        self._table.write(self.items(events))

    def events(self, message_id: str) -> list[LogEvent]:
        found = [pair for values in self._of_message(message_id) for pair in _expanded(values)]
        return [event for _, event in sorted(found, key=lambda pair: pair[0])]

    def _of_message(self, message_id: str) -> list[dict[str, Any]]:
        """The message item and its event items (not its cancel mark): sk from `EVT#` on."""
        return self._table.query_all(
            KeyConditionExpression="pk = :pk AND sk >= :evt",
            ExpressionAttributeValues={":pk": {"S": f"MSG#{message_id}"}, ":evt": {"S": "EVT#"}},
        )

    def state(self, message_id: str) -> str | None:
        # Newest first, the message item (sk=MSG) sorts before every EVT#: the two items read are
        # the message (its CREATED) and the latest event, if there is one.
        response = self._table.client.query(
            TableName=self._table.name,
            KeyConditionExpression="pk = :pk AND sk >= :evt",
            ExpressionAttributeValues={":pk": {"S": f"MSG#{message_id}"}, ":evt": {"S": "EVT#"}},
            ScanIndexForward=False,
            Limit=2,
            ConsistentRead=True,
            ProjectionExpression="sk, #state",
            ExpressionAttributeNames={"#state": "state"},
        )
        items = [item for item in response.get("Items") or [] if "state" in item]
        latest = [item for item in items if item["sk"]["S"] != "MSG"] or items
        return latest[0]["state"]["S"] if latest else None

    def query(self, query: Query, *, max_pages_per_shard: int = 20) -> list[LogEvent]:
        if "messageId" in query.filters:
            found = [v for mid in query.filters["messageId"] for v in self._of_message(mid)]
            events = [pair for values in found for pair in _expanded(values)]
        else:
            found = []
            for shard in range(LOG_SHARDS):
                found.extend(self._query_shard(shard, query, max_pages_per_shard))
            events = [pair for values in found for pair in _expanded(values, from_index=True)]
        matching = [
            (order, e)
            for order, e in events
            if in_range(e.time_ms, query) and query.matches(e.filter_fields())
        ]
        matching.sort(key=lambda pair: pair[0], reverse=True)
        return [event for _, event in matching]

    def _query_shard(self, shard: int, query: Query, max_pages: int) -> list[dict[str, Any]]:
        bounds, values = time_bounds(query)
        by_label, label_values = label_filter(query)
        matched: list[dict[str, Any]] = []
        pages = self._table.pages(
            IndexName="gsi1",
            KeyConditionExpression="gsi1pk = :p" + bounds,
            ExpressionAttributeValues={
                ":p": {"S": f"LOG#{shard}"},
                **{k: {"S": v} for k, v in values.items()},
                **label_values,
            },
            ScanIndexForward=False,
            Limit=max(query.count + 1, 50),
            **by_label,
        )
        for _, page in zip(range(max_pages), pages, strict=False):
            matched.extend(v for v in page if any(query.matches(e.filter_fields()) for _, e in _expanded(v)))
            if len(matched) > query.count:
                break
        return matched
