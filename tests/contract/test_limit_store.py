"""One contract for the limit store, held by the DynamoDB adapter (on moto) and the in-memory twin:
updates are atomic under concurrency (no lease is lost or granted twice), missing states stay
missing unless the change creates them, and list/delete see what was written."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import replace

import boto3
import pytest
from moto import mock_aws

from ferry.adapters.limit_store import DynamoLimits
from ferry.adapters.memory.limits import InMemoryLimitStore
from ferry.domain import flow_control as fc
from ferry.domain.flow_control import Lease

TABLE = "ferry-table"


def _dynamo() -> Iterator[DynamoLimits]:
    with mock_aws():
        ddb = boto3.client("dynamodb", region_name="us-east-1")
        ddb.create_table(
            TableName=TABLE,
            BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[
                {"AttributeName": n, "AttributeType": "S"} for n in ("pk", "sk", "gsi1pk", "gsi1sk")
            ],
            KeySchema=[
                {"AttributeName": "pk", "KeyType": "HASH"},
                {"AttributeName": "sk", "KeyType": "RANGE"},
            ],
            GlobalSecondaryIndexes=[
                {
                    "IndexName": "gsi1",
                    "KeySchema": [
                        {"AttributeName": "gsi1pk", "KeyType": "HASH"},
                        {"AttributeName": "gsi1sk", "KeyType": "RANGE"},
                    ],
                    "Projection": {"ProjectionType": "ALL"},
                }
            ],
        )
        yield DynamoLimits(ddb, table_name=TABLE)


@pytest.fixture(params=["dynamo", "memory"])
def store(request):
    if request.param == "memory":
        yield InMemoryLimitStore()
    else:
        yield from _dynamo()


def test_a_missing_state_reads_as_none_and_stays_missing_if_the_change_says_so(store):
    assert store.get("fc", "k") is None
    assert store.update("fc", "k", lambda s: ("untouched", None)) == "untouched"
    assert store.get("fc", "k") is None and store.list("fc") == []


def test_a_written_state_round_trips_with_every_field(store):
    written = replace(
        fc.new_state("fc", "k", 1),
        parallelism=2,
        rate=3,
        period=60,
        paused=True,
        pinned_rate=True,
        leases={"a": 99},
        starts=(1, 2),
        blocked_until_ms=7,
        waiting=4,
        held={"m": 2},
    )
    store.update("fc", "k", lambda s: (None, written))
    assert store.get("fc", "k") == written


def test_queues_and_keys_are_listed_apart_and_deleted(store):
    store.update("fc", "same", lambda s: (None, fc.new_state("fc", "same", 0)))
    store.update("queue", "same", lambda s: (None, fc.new_state("queue", "same", 0)))
    store.update("queue", "other", lambda s: (None, fc.new_state("queue", "other", 0)))
    assert sorted(s.name for s in store.list("queue")) == ["other", "same"]
    assert [s.kind for s in store.list("fc")] == ["fc"]
    assert store.delete("queue", "same") is True
    assert store.delete("queue", "same") is False
    assert store.get("fc", "same") is not None and store.get("queue", "same") is None


def test_concurrent_acquires_never_grant_more_slots_than_the_parallelism(store):
    store.update("fc", "k", lambda s: (None, replace(fc.new_state("fc", "k", 0), parallelism=3)))
    granted: list[str] = []
    lock = threading.Lock()

    def worker(i: int) -> None:
        def change(state):
            decision, after = fc.acquire(state, lease_id=f"l{i}", now_ms=1, lease_ms=60_000)
            return decision, after

        decision = store.update("fc", "k", change)
        if isinstance(decision, Lease):
            with lock:
                granted.append(decision.lease_id)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(granted) == 3
    assert sorted(store.get("fc", "k").leases) == sorted(granted)
