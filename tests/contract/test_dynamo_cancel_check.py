"""The cancel check before each attempt, on DynamoDB: a message created after the latest cancel
request of the deployment is answered without reading its own cancel mark (the read that was
the only one of a first-attempt delivery), and a cancel is never missed once it is older than
the latest-cancel time's cache."""

from __future__ import annotations

import uuid

import pytest

from ferry.adapters.dynamo_message_marks import CLOCK_SKEW_MARGIN_MS, DynamoCancels
from ferry.adapters.dynamo_table import DynamoTable, Retention
from ferry.adapters.memory.clock import ManualClock

pytestmark = pytest.mark.adapter


class Reads:
    """Counts GetItem calls by key on a boto3 client."""

    def __init__(self, client) -> None:
        self.keys: list[str] = []
        client.meta.events.register("provide-client-params.dynamodb.GetItem", self._count)

    def _count(self, params, **_) -> None:
        self.keys.append(params["Key"]["pk"]["S"])


@pytest.fixture
def table(aws) -> DynamoTable:
    return DynamoTable(aws.dynamodb, aws.environ["FERRY_TABLE_NAME"])


def later_than_any_cancel(table: DynamoTable) -> int:
    """A time after every cancel request in the (shared) table: each test starts from its own."""
    latest = table.get("CANCELS", "LATEST")
    return (int(latest["time"]) if latest else 1_800_000_000_000) + 3_600_000


class Monotonic:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def test_a_message_created_after_the_latest_cancel_is_checked_without_reading_its_mark(table, aws):
    now = Monotonic()
    cancels = DynamoCancels(table, Retention(ManualClock(), 7), monotonic=now)
    cancelled, cancelled_ms = "msg_" + uuid.uuid4().hex, later_than_any_cancel(table)
    assert cancels.request(cancelled, now_ms=cancelled_ms)
    reads = Reads(aws.dynamodb)
    created_after = cancelled_ms + CLOCK_SKEW_MARGIN_MS + 1
    for _ in range(20):
        assert not cancels.requested("msg_" + uuid.uuid4().hex, created_after)
    assert reads.keys == ["CANCELS"], "one read of the latest-cancel time, no per-message read"
    assert cancels.requested(cancelled, cancelled_ms - 10)
    assert reads.keys == ["CANCELS", f"MSG#{cancelled}"]


def test_a_cancel_from_another_instance_is_seen_once_the_cached_time_expires(table):
    now = Monotonic()
    dispatcher = DynamoCancels(table, Retention(ManualClock(), 7), monotonic=now)
    api = DynamoCancels(table, Retention(ManualClock(), 7))
    message, created_ms = "msg_" + uuid.uuid4().hex, later_than_any_cancel(table)
    assert not dispatcher.requested(message, created_ms)
    assert api.request(message, now_ms=created_ms + 5)
    now.now += 0.6  # past LATEST_CANCEL_MAX_AGE_SECONDS
    assert dispatcher.requested(message, created_ms)


def test_the_latest_cancel_time_never_goes_back(table):
    cancels = DynamoCancels(table, Retention(ManualClock(), 7), max_age_seconds=0)
    latest = later_than_any_cancel(table)
    assert cancels.request("msg_" + uuid.uuid4().hex, now_ms=latest)
    assert cancels.request("msg_" + uuid.uuid4().hex, now_ms=latest - 60_000)
    message = "msg_" + uuid.uuid4().hex
    assert cancels.request(message, now_ms=latest - 30_000)
    assert cancels.requested(message, latest - 40_000)
    assert not cancels.requested("msg_" + uuid.uuid4().hex, latest + CLOCK_SKEW_MARGIN_MS + 1)
