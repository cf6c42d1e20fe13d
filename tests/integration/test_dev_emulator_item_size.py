"""The emulator sizes a DynamoDB item once as it stores it (`ferry.dev.emulator_item_size`),
refusing exactly the items moto refused before: over its item size limit, counting every
attribute's name and value."""

from __future__ import annotations

import uuid

import boto3
import pytest
from botocore.exceptions import ClientError

from ferry.dev.emulator_item_size import MOTO_ITEM_SIZE_LIMIT

pytestmark = pytest.mark.integration


def _item(attributes: int, value_bytes: int) -> dict[str, dict[str, str]]:
    item = {"pk": {"S": f"item-size-{uuid.uuid4()}"}, "sk": {"S": "0"}}
    for index in range(attributes):
        item[f"a{index:02d}"] = {"S": "x" * value_bytes}
    return item


def test_an_item_whose_attributes_together_pass_the_size_limit_is_refused(stack):
    ddb = boto3.client("dynamodb")
    table = stack.environ["FERRY_TABLE_NAME"]
    # No attribute is near the limit alone; the fifth one takes the item past it.
    item = _item(5, MOTO_ITEM_SIZE_LIMIT // 5 + 1_000)
    with pytest.raises(ClientError) as refused:
        ddb.put_item(TableName=table, Item=item)
    assert refused.value.response["Error"]["Code"] == "ValidationException"
    assert "maximum allowed size" in refused.value.response["Error"]["Message"]
    assert "Item" not in ddb.get_item(TableName=table, Key={"pk": item["pk"], "sk": item["sk"]})


def test_an_item_just_under_the_size_limit_is_stored_whole(stack):
    ddb = boto3.client("dynamodb")
    table = stack.environ["FERRY_TABLE_NAME"]
    item = _item(4, (MOTO_ITEM_SIZE_LIMIT - 1_000) // 4)
    ddb.put_item(TableName=table, Item=item)
    key = {"pk": item["pk"], "sk": item["sk"]}
    assert ddb.get_item(TableName=table, Key=key, ConsistentRead=True)["Item"] == item
    ddb.delete_item(TableName=table, Key=key)


def test_storing_an_item_sizes_each_attribute_once_not_once_per_attribute_added(stack, monkeypatch):
    from moto.dynamodb.models import dynamo_type

    sized = 0
    size = dynamo_type.DynamoType.size

    def counted(self):
        nonlocal sized
        sized += 1
        return size(self)

    monkeypatch.setattr(dynamo_type.DynamoType, "size", counted)
    ddb = boto3.client("dynamodb")
    table = stack.environ["FERRY_TABLE_NAME"]
    item = _item(20, 10)
    ddb.put_item(TableName=table, Item=item)
    ddb.delete_item(TableName=table, Key={"pk": item["pk"], "sk": item["sk"]})
    # 22 attributes: once each, plus the key checks; sizing the item so far for each attribute
    # added made 250 calls.
    assert sized <= 2 * len(item), sized
