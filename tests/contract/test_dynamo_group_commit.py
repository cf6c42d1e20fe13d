"""Group commit against the emulator: many threads writing history at once all land, in fewer
BatchWriteItem requests than writers (the dispatcher's concurrent deliveries)."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from ferry.adapters.dynamo_table import DynamoTable

pytestmark = pytest.mark.adapter


def test_forty_threads_writing_at_once_all_land_in_shared_requests(aws: Any, table_name: str) -> None:
    calls: list[int] = []
    count = threading.Lock()

    def counted(params: Any, **_: Any) -> None:
        with count:
            calls.append(len(params["RequestItems"][table_name]))

    aws.dynamodb.meta.events.register("provide-client-params.dynamodb.BatchWriteItem", counted)
    try:
        table = DynamoTable(aws.dynamodb, table_name)
        start = threading.Barrier(40)
        errors: list[BaseException] = []

        def write(i: int) -> None:
            start.wait()
            try:
                table.write([{"pk": f"GC#{i}", "sk": f"EVT#{j}"} for j in range(2)])
            except BaseException as error:
                errors.append(error)

        threads = [threading.Thread(target=write, args=(i,)) for i in range(40)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
    finally:
        aws.dynamodb.meta.events.unregister("provide-client-params.dynamodb.BatchWriteItem", counted)
    assert errors == []
    for i in range(40):
        got = aws.dynamodb.query(
            TableName=table_name,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": f"GC#{i}"}},
        )["Items"]
        assert len(got) == 2
    assert sum(calls) == 80 and max(calls) <= 25
