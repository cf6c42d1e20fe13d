"""Group commit: history writes made at the same time share BatchWriteItem requests, and each
caller still returns only once its own items are written (or raises its own error)."""

from __future__ import annotations

import threading
from typing import Any

from ferry.adapters.dynamo_table import DynamoTable
from tests.support.waiting import wait_until


class InvalidItem(Exception):
    pass


class GatedDynamoDB:
    """A DynamoDB client stand-in whose first BatchWriteItem waits until `release()`; it refuses
    a whole request holding an item with pk "bad" or a key twice, as DynamoDB does."""

    def __init__(self) -> None:
        self.requests: list[list[tuple[str, str]]] = []
        self.written: set[tuple[str, str]] = set()
        self._gate = threading.Event()
        self.first_call_started = threading.Event()

    def release(self) -> None:
        self._gate.set()

    def batch_write_item(self, RequestItems: dict[str, Any]) -> dict[str, Any]:
        (puts,) = RequestItems.values()
        keys = [(p["PutRequest"]["Item"]["pk"]["S"], p["PutRequest"]["Item"]["sk"]["S"]) for p in puts]
        self.requests.append(keys)
        if len(self.requests) == 1:
            self.first_call_started.set()
            assert self._gate.wait(10)
        if len(set(keys)) < len(keys):
            raise InvalidItem("Provided list of item keys contains duplicates")
        if any(pk == "bad" for pk, _ in keys):
            raise InvalidItem("One or more parameter values were invalid")
        self.written.update(keys)
        return {}


class Writer(threading.Thread):
    def __init__(self, table: DynamoTable, items: list[dict[str, Any]]) -> None:
        super().__init__(daemon=True)
        self.table, self.items = table, items
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self.table.write(self.items)
        except BaseException as error:
            self.error = error


def _blocked_first_writer(client: GatedDynamoDB, table: DynamoTable) -> Writer:
    first = Writer(table, [{"pk": "first", "sk": "s"}])
    first.start()
    assert client.first_call_started.wait(5)
    return first


def _queue_writers(table: DynamoTable, batches: list[list[dict[str, Any]]]) -> list[Writer]:
    writers = [Writer(table, items) for items in batches]
    for w in writers:
        w.start()
    expected = sum(len(items) for items in batches)
    wait_until(lambda: table._group.queued == expected, timeout=5)
    return writers


def _finish(client: GatedDynamoDB, writers: list[Writer]) -> None:
    client.release()
    for w in writers:
        w.join(10)
        assert not w.is_alive()


def test_a_lone_writer_sends_its_items_at_once_in_its_own_request():
    client = GatedDynamoDB()
    client.release()
    table = DynamoTable(client, "t")
    table.write([{"pk": "a", "sk": "1"}, {"pk": "a", "sk": "2"}])
    table.write([{"pk": "b", "sk": "1"}])
    assert client.requests == [[("a", "1"), ("a", "2")], [("b", "1")]]


def test_writes_arriving_while_a_request_is_out_share_the_next_request_and_wait_for_it():
    client = GatedDynamoDB()
    table = DynamoTable(client, "t")
    first = _blocked_first_writer(client, table)
    writers = _queue_writers(table, [[{"pk": f"m{i}", "sk": "e"}] for i in range(10)])
    # Nobody returns before its own items are written: all ten are still waiting.
    assert all(w.is_alive() for w in writers)
    _finish(client, [first, *writers])
    assert [len(r) for r in client.requests] == [1, 10]
    assert all(w.error is None for w in [first, *writers])
    assert client.written == {("first", "s")} | {(f"m{i}", "e") for i in range(10)}


def test_more_than_25_gathered_items_go_in_requests_of_25():
    client = GatedDynamoDB()
    table = DynamoTable(client, "t")
    first = _blocked_first_writer(client, table)
    writers = _queue_writers(table, [[{"pk": f"m{i}", "sk": str(j)} for j in range(4)] for i in range(10)])
    _finish(client, [first, *writers])
    assert [len(r) for r in client.requests] == [1, 25, 15]
    assert len(client.written) == 41 and all(w.error is None for w in writers)


def test_one_callers_bad_item_fails_only_that_caller():
    client = GatedDynamoDB()
    table = DynamoTable(client, "t")
    first = _blocked_first_writer(client, table)
    good_before, bad, good_after = _queue_writers(
        table,
        [
            [{"pk": "g1", "sk": "e"}],
            [{"pk": "bad", "sk": "e"}, {"pk": "b2", "sk": "e"}],
            [{"pk": "g2", "sk": "e"}],
        ],
    )
    _finish(client, [first, good_before, bad, good_after])
    assert isinstance(bad.error, InvalidItem)
    assert good_before.error is None and good_after.error is None
    assert {("g1", "e"), ("g2", "e")} <= client.written and ("b2", "e") not in client.written


def test_two_puts_of_the_same_item_never_share_a_request():
    client = GatedDynamoDB()
    table = DynamoTable(client, "t")
    first = _blocked_first_writer(client, table)
    writers = _queue_writers(
        table, [[{"pk": "m", "sk": "e"}], [{"pk": "m", "sk": "e"}], [{"pk": "n", "sk": "e"}]]
    )
    _finish(client, [first, *writers])
    assert all(w.error is None for w in writers)
    assert client.requests[1:] == [[("m", "e"), ("n", "e")], [("m", "e")]]


def test_an_empty_write_sends_nothing():
    client = GatedDynamoDB()
    DynamoTable(client, "t").write([])
    assert client.requests == []
