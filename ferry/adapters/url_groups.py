"""DynamoUrlGroups: URL groups (QStash "topics") in the one table.

group   pk=TOPIC#<name>  sk=TOPIC  gsi1pk=TOPICS  gsi1sk=<name>   endpoints as JSON, createdAt, updatedAt
"""

from __future__ import annotations

import json
from typing import Any

from ferry.domain.url_groups import Endpoint, UrlGroup


class DynamoUrlGroups:
    def __init__(self, client: Any, *, table_name: str) -> None:
        self._ddb = client
        self._table = table_name

    def get(self, name: str) -> UrlGroup | None:
        item = self._ddb.get_item(
            TableName=self._table,
            Key={"pk": {"S": f"TOPIC#{name}"}, "sk": {"S": "TOPIC"}},
            ConsistentRead=True,
        ).get("Item")
        return _group(item) if item else None

    def put(self, group: UrlGroup) -> None:
        self._ddb.put_item(
            TableName=self._table,
            Item={
                "pk": {"S": f"TOPIC#{group.name}"},
                "sk": {"S": "TOPIC"},
                "gsi1pk": {"S": "TOPICS"},
                "gsi1sk": {"S": group.name},
                "name": {"S": group.name},
                "endpoints": {"S": json.dumps([e.to_body() for e in group.endpoints])},
                "createdAt": {"N": str(group.created_at_ms)},
                "updatedAt": {"N": str(group.updated_at_ms)},
            },
        )

    def delete(self, name: str) -> bool:
        response = self._ddb.delete_item(
            TableName=self._table,
            Key={"pk": {"S": f"TOPIC#{name}"}, "sk": {"S": "TOPIC"}},
            ReturnValues="ALL_OLD",
        )
        return "Attributes" in response

    def list(self) -> list[UrlGroup]:
        groups: list[UrlGroup] = []
        kwargs: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": "gsi1",
            "KeyConditionExpression": "gsi1pk = :p",
            "ExpressionAttributeValues": {":p": {"S": "TOPICS"}},
        }
        while True:
            response = self._ddb.query(**kwargs)
            groups.extend(_group(item) for item in response.get("Items", []))
            if "LastEvaluatedKey" not in response:
                return groups
            kwargs["ExclusiveStartKey"] = response["LastEvaluatedKey"]


def _group(item: dict[str, Any]) -> UrlGroup:
    return UrlGroup(
        name=item["name"]["S"],
        endpoints=tuple(
            Endpoint(url=e["url"], name=e.get("name")) for e in json.loads(item["endpoints"]["S"])
        ),
        created_at_ms=int(item["createdAt"]["N"]),
        updated_at_ms=int(item["updatedAt"]["N"]),
    )
