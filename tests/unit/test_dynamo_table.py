"""DynamoTable's encoding (numbers stay numbers) and its retries of unprocessed batch items."""

from __future__ import annotations

from decimal import Decimal

import pytest

from ferry.adapters.dynamo_table import WRITE_ATTEMPTS, DynamoTable, from_item, to_item


class Throttling:
    """A DynamoDB client whose batch writes leave items unprocessed for the first `times` calls."""

    def __init__(self, times: int) -> None:
        self.times = times
        self.calls: list[dict] = []

    def batch_write_item(self, RequestItems: dict) -> dict:
        self.calls.append(RequestItems)
        if len(self.calls) <= self.times:
            return {"UnprocessedItems": RequestItems}
        return {}


def test_values_round_trip_with_numbers_as_numbers_and_absent_values_left_out():
    item = to_item({"pk": "MSG#1", "n": 7, "f": 1.5, "big": 2**53 + 1, "b": True, "none": None, "ss": {"a"}})
    assert "none" not in item and item["f"] == {"N": "1.5"}
    back = from_item(item)
    assert back == {"pk": "MSG#1", "n": 7, "f": 1.5, "big": 2**53 + 1, "b": True, "ss": {"a"}}
    assert type(back["n"]) is int and type(back["f"]) is float and not isinstance(back["n"], Decimal)


def test_unprocessed_items_are_written_again_after_a_growing_backoff():
    client, slept = Throttling(times=3), []
    table = DynamoTable(client, "t", sleep=slept.append, jitter=lambda: 0.5)
    table.write([{"pk": f"p{i}", "sk": "s"} for i in range(30)])
    # 30 items: two batches; the first is throttled three times, then both go through.
    assert len(client.calls) == 5
    assert slept == [0.05, 0.1, 0.2]


def test_items_still_unprocessed_after_every_attempt_fail_the_write():
    client, slept = Throttling(times=99), []
    table = DynamoTable(client, "t", sleep=slept.append, jitter=lambda: 0.5)
    with pytest.raises(RuntimeError, match="unprocessed"):
        table.write([{"pk": "p", "sk": "s"}])
    assert len(client.calls) == WRITE_ATTEMPTS and len(slept) == WRITE_ATTEMPTS - 1
