"""DynamoHistory's write economy: one item per attempt, and what each history level indexes.

The items are read back from the table itself, since what is written is what DynamoDB bills."""

from __future__ import annotations

import uuid

import pytest

from ferry.adapters.memory.clock import ManualClock
from ferry.domain.envelope import Envelope
from ferry.domain.history import LogEvent, State
from ferry.domain.queries import Query

pytestmark = pytest.mark.adapter

T0 = 1_800_000_000_000


def history(aws, table_name: str, level: str):
    from ferry.adapters.dynamo_history import DynamoHistory

    return DynamoHistory(
        aws.dynamodb,
        table_name=table_name,
        retention_days=7,
        dlq_retention_days=14,
        clock=ManualClock(),
        level=level,
    )


def message() -> Envelope:
    url = f"https://{uuid.uuid4().hex[:12]}.example/hook"
    return Envelope(
        id="msg_" + uuid.uuid4().hex, destination=url, created_at=T0, not_before=T0, max_retries=3, timeout=30
    )


def delivered_first_time(h, m: Envelope) -> None:
    h.message_created(m, LogEvent.of(m, State.CREATED, T0, next_delivery_ms=T0))
    active = LogEvent.of(m, State.ACTIVE, T0 + 10)
    done = LogEvent.of(m, State.DELIVERED, T0 + 310, response_status=200, response_headers={"A": "b"})
    h.record(m, [active, done])


def items_of(aws, table_name: str, m: Envelope) -> list[dict]:
    return aws.dynamodb.query(
        TableName=table_name,
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": f"MSG#{m.id}"}},
    )["Items"]


def by_url(m: Envelope) -> Query:
    return Query(filters={"url": (m.destination,)}, count=10)


@pytest.mark.parametrize(("level", "items"), [("full", 3), ("errors", 2)])
def test_a_first_attempt_delivery_is_three_items_at_full_and_two_at_errors(aws, table_name, level, items):
    h = history(aws, table_name, level)
    m = message()
    delivered_first_time(h, m)
    assert len(items_of(aws, table_name, m)) == items
    assert [(e.state, e.time_ms) for e in h.events(m.id)] == [
        (State.CREATED, T0),
        (State.ACTIVE, T0 + 10),
        (State.DELIVERED, T0 + 310),
    ]
    assert h.state(m.id) == "DELIVERED"


def test_the_full_level_lists_every_event_of_a_delivered_message_by_time(aws, table_name):
    h = history(aws, table_name, "full")
    m = message()
    delivered_first_time(h, m)
    assert [e.state for e in h.query_events(by_url(m))] == [State.DELIVERED, State.ACTIVE, State.CREATED]
    assert all("gsi1pk" in item for item in items_of(aws, table_name, m))


def test_the_errors_level_keeps_a_message_that_never_failed_out_of_the_time_index(aws, table_name):
    h = history(aws, table_name, "errors")
    m = message()
    delivered_first_time(h, m)
    assert h.query_events(by_url(m)) == []
    assert not any("gsi1pk" in item for item in items_of(aws, table_name, m))
    # Its own history is complete.
    assert h.query_events(Query(filters={"messageId": (m.id,)}, count=10))[0].state is State.DELIVERED


def test_the_errors_level_lists_failed_attempts_by_time(aws, table_name):
    h = history(aws, table_name, "errors")
    m = message()
    h.message_created(m, LogEvent.of(m, State.CREATED, T0))
    h.record(
        m,
        [
            LogEvent.of(m, State.ACTIVE, T0 + 10),
            LogEvent.of(m, State.ERROR, T0 + 20, response_status=500, error="HTTP 500"),
            LogEvent.of(m, State.RETRY, T0 + 20, next_delivery_ms=T0 + 1000),
        ],
    )
    assert [e.state for e in h.query_events(by_url(m))] == [State.RETRY, State.ERROR]
    assert [e.state for e in h.events(m.id)] == [State.CREATED, State.ACTIVE, State.ERROR, State.RETRY]


def test_an_active_event_that_differs_from_its_outcome_is_kept_as_its_own_item(aws, table_name):
    h = history(aws, table_name, "errors")
    m = message()
    h.message_created(m, LogEvent.of(m, State.CREATED, T0))
    odd_active = LogEvent.of(m, State.ACTIVE, T0 + 10, retried=1)
    h.record(m, [odd_active, LogEvent.of(m, State.DELIVERED, T0 + 20, retried=2)])
    assert len(items_of(aws, table_name, m)) == 3
    assert [e.retried for e in h.events(m.id)] == [0, 1, 2]


def test_messages_stored_before_the_created_event_moved_onto_the_message_still_read_whole(aws, table_name):
    """Items written by the previous layout: a message item without state, CREATED as an event."""
    from ferry.adapters.dynamo_table import to_item

    h = history(aws, table_name, "full")
    m = message()
    old = h.messages.item(m)
    aws.dynamodb.put_item(TableName=table_name, Item=to_item(old))
    h.record(m, [LogEvent.of(m, State.CREATED, T0)])
    assert [e.state for e in h.events(m.id)] == [State.CREATED]
    assert h.state(m.id) == "CREATED"
    assert h.get_envelope(m.id) == m
