"""DynamoTable's encoding (numbers stay numbers) and its retries of unprocessed batch items."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

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


def _reference_item(values: dict) -> dict:
    """What boto3's TypeSerializer alone writes for `values` (the encoding before its fast path)."""
    from boto3.dynamodb.types import TypeSerializer

    from ferry.adapters.dynamo_table import _to_dynamo

    return {k: TypeSerializer().serialize(_to_dynamo(v)) for k, v in values.items() if v is not None}


def _reference_values(item: dict) -> dict:
    from boto3.dynamodb.types import TypeDeserializer

    from ferry.adapters.dynamo_table import _from_dynamo

    return {k: _from_dynamo(TypeDeserializer().deserialize(v)) for k, v in item.items()}


_scalars = st.one_of(
    st.text(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=-(10**40), max_value=10**40),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
    st.binary(),
    st.none(),
)
_attribute_values = st.recursive(
    _scalars
    | st.sets(st.text(), min_size=1)
    | st.sets(st.integers(min_value=-(10**30), max_value=10**30), min_size=1)
    | st.sets(st.text(), max_size=0),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=8,
)


def _outcome(encode, values):
    try:
        return encode(values)
    except Exception as exc:  # the same refusal as TypeSerializer's, for what DynamoDB cannot store
        return type(exc)


@given(st.dictionaries(st.text(min_size=1, max_size=8), _attribute_values, max_size=6))
def test_items_are_encoded_as_boto3s_type_serializer_encodes_them(values):
    assert _outcome(to_item, values) == _outcome(_reference_item, values)


@given(st.dictionaries(st.text(min_size=1, max_size=8), _attribute_values, max_size=6))
def test_items_are_read_back_as_boto3s_type_deserializer_reads_them(values):
    try:
        item = _reference_item(values)
    except Exception:
        return  # not storable
    assert from_item(item) == _reference_values(item)
    assert {k: type(v) for k, v in from_item(item).items()} == {
        k: type(v) for k, v in _reference_values(item).items()
    }


@pytest.mark.parametrize("number", ["-0", "007", "-12", "1e3", "1.50", "9" * 38, "9" * 39, "-" + "9" * 38])
def test_numbers_read_back_as_the_type_serializer_reads_them(number):
    item = {"n": {"N": number}}
    ours, reference = _outcome(from_item, item), _outcome(_reference_values, item)
    assert ours == reference
    assert type(ours) is type(reference)
    if isinstance(ours, dict):
        assert type(ours["n"]) is type(reference["n"])


@pytest.mark.parametrize("number", [10**38 - 1, 10**38, -(10**38), 10**38 + 1, 2**63, 0, -1])
def test_whole_numbers_at_dynamodbs_precision_are_encoded_as_the_type_serializer_encodes_them(number):
    assert _outcome(to_item, {"n": number}) == _outcome(_reference_item, {"n": number})
