"""A log listing filtered by label, on DynamoDB: the index pages are read as before, but only the
items with a wanted label come back (a FilterExpression), not every item of every page."""

from __future__ import annotations

import uuid

import pytest

from ferry.adapters.dynamo_history import DynamoHistory
from ferry.adapters.memory.clock import ManualClock
from ferry.domain.envelope import Envelope
from ferry.domain.history import LogEvent, State
from ferry.domain.queries import Query

pytestmark = pytest.mark.adapter

T0 = 1_800_000_000_000


class Returned:
    """Items each Query on the index brought back, counted on a boto3 client."""

    def __init__(self, client) -> None:
        self.items = 0
        client.meta.events.register("after-call.dynamodb.Query", self._count)

    def _count(self, parsed, **_) -> None:
        self.items += len(parsed.get("Items", []))


def test_a_label_listing_brings_back_only_the_items_with_the_label(aws, table_name):
    history = DynamoHistory(
        aws.dynamodb, table_name=table_name, retention_days=7, dlq_retention_days=14, clock=ManualClock()
    )
    wanted, other = f"wanted-{uuid.uuid4().hex[:8]}", f"other-{uuid.uuid4().hex[:8]}"
    messages = [
        Envelope(
            id="msg_" + uuid.uuid4().hex,
            destination="https://label-filter.example/hook",
            created_at=T0 + n,
            not_before=T0 + n,
            max_retries=3,
            timeout=30,
            body="hello",
            labels=(wanted,) if n % 10 == 0 else (other,),
        )
        for n in range(40)
    ]
    for n, message in enumerate(messages):
        history.message_created(message, LogEvent.of(message, State.CREATED, T0 + n))
    returned = Returned(aws.dynamodb)

    listed = history.query_events(Query(filters={"labels": (wanted, f"absent-{uuid.uuid4().hex}")}))

    assert sorted(e.message_id for e in listed) == sorted(m.id for m in messages[::10])
    assert returned.items == 4
