"""What a published message costs to store (DynamoMessages, on moto): a 1 KB JSON body's message
item fits in one write unit, and no body makes the item bigger than its JSON would."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from benchmarks.aws_meter import item_size
from ferry.adapters.dynamo_messages import envelope_text
from ferry.domain.envelope import Envelope
from ferry.domain.history import LogEvent, State
from tests.contract.test_history_levels import history
from tests.support.bodies import order_event_json, random_text

pytestmark = pytest.mark.adapter
T0 = 1_800_000_000_000


def _stored_item(aws: Any, table_name: str, body: str, level: str) -> dict[str, Any]:
    stored = history(aws, table_name, level)
    message = Envelope(
        id="msg_" + uuid.uuid4().hex,
        destination="https://orders.example/hook",
        created_at=T0,
        not_before=T0,
        max_retries=3,
        timeout=30,
        body=body,
        headers={"Content-Type": "application/json"},
    )
    stored.message_created(message, LogEvent.of(message, State.CREATED, T0, next_delivery_ms=T0))
    key = {"pk": {"S": f"MSG#{message.id}"}, "sk": {"S": "MSG"}}
    return aws.dynamodb.get_item(TableName=table_name, Key=key, ConsistentRead=True)["Item"]


@pytest.mark.parametrize("level", ["errors", "full"])
def test_a_1kb_json_message_is_stored_in_one_write_unit(aws, table_name, level):
    body = order_event_json(1024)
    item = _stored_item(aws, table_name, body, level)
    assert "B" in item["envelope"], "compressed"
    assert item_size(item) <= 1024


def test_a_random_body_is_stored_no_bigger_than_its_json(aws, table_name):
    body = random_text(1024)
    item = _stored_item(aws, table_name, body, "errors")
    stored = item["envelope"]
    text = envelope_text(stored["B"]) if "B" in stored else stored["S"]
    assert body in text
    assert item_size(item) <= item_size({**item, "envelope": {"S": text}})


def test_a_small_message_is_stored_as_json(aws, table_name):
    item = _stored_item(aws, table_name, '{"hello":"world"}', "errors")
    assert '{\\"hello\\":\\"world\\"}' in item["envelope"]["S"]
