"""The emulator writes stored DynamoDB attribute values into its responses directly
(`ferry.dev.emulator_serializer`): every answer is the one moto's own walk of the output shape
gives, for every kind of attribute value, nested ones included."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import boto3
import pytest

pytestmark = pytest.mark.integration

EVERY_KIND = {
    "text": {"S": "héllo ✓"},
    "empty_text": {"S": ""},
    "number": {"N": "-12.5e3"},
    "blob": {"B": b"\x00\xffbinary"},
    "texts": {"SS": ["a", "b"]},
    "numbers": {"NS": ["1", "2.5"]},
    "blobs": {"BS": [b"\x01", b"\x02\x03"]},
    "yes": {"BOOL": True},
    "no": {"BOOL": False},
    "nothing": {"NULL": True},
    "nested": {
        "M": {
            "list": {"L": [{"S": "x"}, {"N": "1"}, {"M": {"deep": {"B": b"\x04"}}}, {"L": []}]},
            "empty_map": {"M": {}},
            "flag": {"BOOL": False},
        }
    },
}


def _without_metadata(answer: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in answer.items() if k != "ResponseMetadata"}


def _answers(ddb: Any, table: str, pk: str) -> dict[str, Any]:
    key = {"pk": {"S": pk}, "sk": {"S": "0"}}
    calls: dict[str, Callable[[], dict[str, Any]]] = {
        "get": lambda: ddb.get_item(TableName=table, Key=key, ConsistentRead=True),
        "query": lambda: ddb.query(
            TableName=table,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": pk}},
            Limit=1,
        ),
        "scan": lambda: ddb.scan(
            TableName=table,
            FilterExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": pk}},
        ),
        "batch_get": lambda: ddb.batch_get_item(RequestItems={table: {"Keys": [key]}}),
        "transact_get": lambda: ddb.transact_get_items(
            TransactItems=[{"Get": {"TableName": table, "Key": key}}]
        ),
        "update": lambda: ddb.update_item(
            TableName=table,
            Key=key,
            UpdateExpression="SET #n = :n",
            ExpressionAttributeNames={"#n": "number"},
            ExpressionAttributeValues={":n": {"N": "-12.5e3"}},
            ReturnValues="ALL_NEW",
        ),
    }
    return {name: _without_metadata(call()) for name, call in calls.items()}


def test_items_of_every_attribute_kind_read_back_as_moto_itself_answers(stack, monkeypatch):
    from moto.core.serialize import BaseJSONSerializer

    ddb = boto3.client("dynamodb")
    table = stack.environ["FERRY_TABLE_NAME"]
    pk = f"serializer-{uuid.uuid4()}"
    ddb.put_item(TableName=table, Item={"pk": {"S": pk}, "sk": {"S": "0"}, **EVERY_KIND})

    direct = _answers(ddb, table, pk)
    monkeypatch.setattr(
        BaseJSONSerializer, "_serialize_type_structure", BaseJSONSerializer._ferry_walk_structure
    )
    walked = _answers(ddb, table, pk)

    assert direct["get"]["Item"] == {"pk": {"S": pk}, "sk": {"S": "0"}, **EVERY_KIND}
    assert direct == walked
    ddb.delete_item(TableName=table, Key={"pk": {"S": pk}, "sk": {"S": "0"}})


def test_a_query_page_key_reads_back_as_moto_itself_answers(stack, monkeypatch):
    """LastEvaluatedKey is a map of attribute values too, and a page must go on where it ended."""
    from moto.core.serialize import BaseJSONSerializer

    ddb = boto3.client("dynamodb")
    table = stack.environ["FERRY_TABLE_NAME"]
    pk = f"serializer-pages-{uuid.uuid4()}"
    for sk in ("a", "b", "c"):
        ddb.put_item(TableName=table, Item={"pk": {"S": pk}, "sk": {"S": sk}, "n": {"N": "1"}})

    def pages() -> list[dict[str, Any]]:
        answers, start = [], None
        while True:
            extra = {"ExclusiveStartKey": start} if start else {}
            answer = ddb.query(
                TableName=table,
                KeyConditionExpression="pk = :pk",
                ExpressionAttributeValues={":pk": {"S": pk}},
                Limit=2,
                **extra,
            )
            answers.append(_without_metadata(answer))
            start = answer.get("LastEvaluatedKey")
            if not start:
                return answers

    direct = pages()
    monkeypatch.setattr(
        BaseJSONSerializer, "_serialize_type_structure", BaseJSONSerializer._ferry_walk_structure
    )
    assert direct == pages()
    assert [item["sk"]["S"] for page in direct for item in page["Items"]] == ["a", "b", "c"]
    for sk in ("a", "b", "c"):
        ddb.delete_item(TableName=table, Key={"pk": {"S": pk}, "sk": {"S": sk}})
