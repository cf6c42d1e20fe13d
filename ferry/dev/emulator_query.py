"""The emulator's DynamoDB Query reads the queried partition, not every item of the table.

moto answers a Query by going through `Table.all_items()`: on the table's key, every item of
the table sorted (a pk Query took 0.47 s at 30,000 items, one test session's table); on an
index, every item, each compared with the index key. Here a Query on the table's key reads its
partition's items, and a Query on an index reads the items whose index key matches, kept from
one Query to the next until the table is written again: a listing that pages through an index
partition (`/v2/events` with a label filter reads up to 20 pages of each shard) reads the table
once, not once a page. moto then checks, sorts and filters those items as before: the answers
are the same, only the items it goes through are fewer.

Writes: every DynamoDB call passes `ferry.dev.emulator.serialize_dynamodb`'s lock, which counts
the calls that are not reads (`count_call`); a kept index partition is used only while the
count is unchanged, and only when calls are serialized (else the partitions are not kept).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import Any

# DynamoDB actions that change no item. Every other action (PutItem, UpdateItem, DeleteItem,
# BatchWriteItem, TransactWriteItems, ExecuteStatement, table changes...) drops what is kept.
READ_ACTIONS = frozenset(
    {
        "BatchGetItem",
        "DescribeContinuousBackups",
        "DescribeEndpoints",
        "DescribeLimits",
        "DescribeTable",
        "DescribeTimeToLive",
        "GetItem",
        "ListTables",
        "ListTagsOfResource",
        "Query",
        "Scan",
        "TransactGetItems",
    }
)


class _Kept:
    """Index partitions read since the last write (only touched under the DynamoDB lock)."""

    def __init__(self) -> None:
        self.writes = 0
        self.active = False
        # Each with its table, which so stays alive: no new table can take its id meanwhile.
        self.partitions: dict[tuple[Any, ...], tuple[Any, list[Any]]] = {}
        self.kept_at = 0


_kept = _Kept()


def count_call(action: str) -> None:
    """Called under the DynamoDB lock before each call; `action` as moto names it (PutItem)."""
    _kept.active = True
    if action not in READ_ACTIONS:
        _kept.writes += 1


def index_partition(
    table: Any, conditions: list[tuple[str, Any]], every_item: Callable[[], Iterable[Any]]
) -> list[Any]:
    """The items of `every_item()` whose attributes equal each (name, value) of `conditions`, by
    moto's own test (a missing or empty value never matches), kept until the next write: the
    table's items are gone through only when nothing is kept."""
    key = (id(table), tuple((name, value.type, repr(value.value)) for name, value in conditions))
    if _kept.active:
        if _kept.kept_at != _kept.writes:
            _kept.partitions.clear()
            _kept.kept_at = _kept.writes
        kept = _kept.partitions.get(key)
        if kept is not None:
            return list(kept[1])
    found = [item for item in every_item() if _matches(item, conditions)]
    if _kept.active:
        _kept.partitions[key] = (table, found)
    return list(found)


def _matches(item: Any, conditions: list[tuple[str, Any]]) -> bool:
    for name, expected in conditions:
        value = item.attrs.get(name)
        if not value or value != expected:
            return False
    return True


def query_only_the_partition() -> None:
    """Idempotent; applied when the emulator starts (`ferry.dev.emulator.speed_up_moto`)."""
    import moto.dynamodb.models.table as dynamo_tables

    table_class = dynamo_tables.Table
    if getattr(table_class, "_ferry_partition_query", False):
        return
    all_items, query = table_class.all_items, table_class.query
    # Per thread: what the running Query reads: (table, hash key, None) for a Query on the
    # table's key, (table, None, index key conditions) for an index Query (unsorted: the query
    # sorts its matches by the index and table keys itself). Other callers (Scan pages by the
    # sorted order) and other threads still get the sorted whole table.
    partition = threading.local()

    def items_of_the_queried_partition(self: Any) -> list[Any]:
        wanted = getattr(partition, "key", None)
        if wanted is None or wanted[0] is not self:
            return all_items(self)
        _, hash_key, conditions = wanted
        if hash_key is None:

            def every_item() -> list[Any]:
                if not self.range_key_attr:
                    return list(self.items.values())
                return [item for hash_set in self.items.values() for item in hash_set.values()]

            return index_partition(self, conditions, every_item) if conditions else every_item()
        hash_set = self.items.get(hash_key)  # dict.get: the defaultdict gains no empty partition
        if hash_set is None:
            return []
        return list(hash_set.values()) if self.range_key_attr else [hash_set]

    def query_one_partition(self: Any, hash_key: Any, *args: Any, **kwargs: Any) -> Any:
        index_name = args[6] if len(args) > 6 else kwargs.get("index_name")
        if not index_name and hash_key is None:
            return query(self, hash_key, *args, **kwargs)
        previous = getattr(partition, "key", None)
        if index_name:
            partition.key = (self, None, list(kwargs.get("hash_key_conditions") or []))
        else:
            partition.key = (self, hash_key, None)
        try:
            return query(self, hash_key, *args, **kwargs)
        finally:
            partition.key = previous

    table_class.all_items = items_of_the_queried_partition
    table_class.query = query_one_partition
    table_class._ferry_partition_query = True
