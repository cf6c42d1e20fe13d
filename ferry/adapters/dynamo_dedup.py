"""DynamoDedup: deduplication claims, a conditional put each.

dedup claim  pk=DEDUP#<key>  sk=DEDUP      TTL = the dedup window
"""

from __future__ import annotations

import contextlib
import hashlib
from typing import Any

from ferry.adapters.dynamo_table import DynamoTable, to_item
from ferry.usecases.ports import Clock


def _pk(key: str) -> str:
    # A partition key holds at most 2048 bytes; a long deduplication id (plus a URL-group
    # endpoint) is hashed instead of being refused by DynamoDB.
    if len(key.encode()) > 1024:
        key = "sha256:" + hashlib.sha256(key.encode()).hexdigest()
    return f"DEDUP#{key}"


class DynamoDedup:
    def __init__(self, client: Any, *, table_name: str, clock: Clock) -> None:
        self._table = DynamoTable(client, table_name)
        self._clock = clock

    def claim(self, key: str, message_id: str, *, expires_at: int) -> str | None:
        pk = _pk(key)
        # TTL deletion lags by up to two days, so an expired claim counts as free.
        claimed = self._table.put_if_absent(
            {"pk": pk, "sk": "DEDUP", "messageId": message_id, "ttl": expires_at},
            ConditionExpression="attribute_not_exists(pk) OR #ttl < :now",
            ExpressionAttributeNames={"#ttl": "ttl"},
            ExpressionAttributeValues=to_item({":now": int(self._clock.now())}),
        )
        if claimed:
            return None
        earlier = self._table.get(pk, "DEDUP", consistent=True)
        return earlier["messageId"] if earlier else None

    def release(self, key: str, message_id: str) -> None:
        with contextlib.suppress(self._table.conditional_check_failed):
            self._table.client.delete_item(
                TableName=self._table.name,
                Key={"pk": {"S": _pk(key)}, "sk": {"S": "DEDUP"}},
                ConditionExpression="messageId = :id",
                ExpressionAttributeValues={":id": {"S": message_id}},
            )
