"""The emulator's index Query reads the queried index partition, kept until the next write
(`ferry.dev.emulator_query`): the same answers as moto's pass over every item, fewer reads."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.integration


def _query_pages(ddb, table: str, partition: str) -> list[str]:
    """Every page of the index partition, newest first, as the log listing reads it (small pages)."""
    keys, start = [], {}
    while True:
        page = ddb.query(
            TableName=table,
            IndexName="gsi1",
            KeyConditionExpression="gsi1pk = :p",
            ExpressionAttributeValues={":p": {"S": partition}},
            ScanIndexForward=False,
            Limit=2,
            **start,
        )
        keys += [item["sk"]["S"] for item in page["Items"]]
        if "LastEvaluatedKey" not in page:
            return keys
        start = {"ExclusiveStartKey": page["LastEvaluatedKey"]}


def _put(ddb, table: str, pk: str, partition: str, sort: str) -> None:
    ddb.put_item(
        TableName=table,
        Item={"pk": {"S": pk}, "sk": {"S": sort}, "gsi1pk": {"S": partition}, "gsi1sk": {"S": sort}},
    )


def _items_in(table: str) -> int:
    from moto.dynamodb.models import dynamodb_backends

    return sum(
        len(by_range) if isinstance(by_range, dict) else 1
        for by_range in dynamodb_backends["123456789012"]["us-east-1"].tables[table].items.values()
    )


def test_an_index_query_after_a_write_sees_the_write(stack, path):
    import boto3

    ddb = boto3.client("dynamodb")
    table = stack.environ["FERRY_TABLE_NAME"]
    partition, other = f"idx-{path}", f"idx-other-{path}"
    for n in range(5):
        _put(ddb, table, f"{path}-{n}", partition, f"{n:02}")
    assert _query_pages(ddb, table, partition) == ["04", "03", "02", "01", "00"]

    _put(ddb, table, f"{path}-5", partition, "05")  # a new item
    ddb.update_item(  # one item moves to another index partition
        TableName=table,
        Key={"pk": {"S": f"{path}-1"}, "sk": {"S": "01"}},
        UpdateExpression="SET gsi1pk = :o",
        ExpressionAttributeValues={":o": {"S": other}},
    )
    ddb.delete_item(TableName=table, Key={"pk": {"S": f"{path}-3"}, "sk": {"S": "03"}})
    assert _query_pages(ddb, table, partition) == ["05", "04", "02", "00"]
    assert _query_pages(ddb, table, other) == ["01"]

    ddb.batch_write_item(
        RequestItems={table: [{"DeleteRequest": {"Key": {"pk": {"S": f"{path}-0"}, "sk": {"S": "00"}}}}]}
    )
    assert _query_pages(ddb, table, partition) == ["05", "04", "02"]


def test_the_pages_of_an_index_partition_read_the_table_once_until_it_is_written(stack, path, monkeypatch):
    import boto3

    import ferry.dev.emulator_query as emulator_query

    ddb = boto3.client("dynamodb")
    table = stack.environ["FERRY_TABLE_NAME"]
    partition = f"pages-{path}"
    for n in range(6):
        _put(ddb, table, f"{path}-{n}", partition, f"{n:02}")
    compared = []
    matches = emulator_query._matches
    monkeypatch.setattr(
        emulator_query, "_matches", lambda item, conditions: compared.append(1) or matches(item, conditions)
    )

    assert len(_query_pages(ddb, table, partition)) == 6  # 3 pages of 2, or 4
    assert len(compared) == _items_in(table)  # each item compared once, not once a page
    compared.clear()
    assert len(_query_pages(ddb, table, partition)) == 6
    assert compared == []

    _put(ddb, table, f"{path}-6", partition, "06")
    assert len(_query_pages(ddb, table, partition)) == 7
    assert len(compared) == _items_in(table)
