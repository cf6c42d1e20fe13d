"""DynamoLimits: queue and flow-control limit states in the one table, changed with conditional writes.

Key design (docs/storage.md, docs/flow-control.md):
  queue        pk=QUEUE#<name>  sk=LIMIT   gsi1pk=LIMITS#queue  gsi1sk=<name>
  flow control pk=FC#<key>      sk=LIMIT   gsi1pk=LIMITS#fc     gsi1sk=<key>
The state is one JSON attribute plus a `version` number; a write succeeds only if the version it
read is still there (or the item is still absent), so concurrent dispatchers never lose a lease.
"""

from __future__ import annotations

import json
import random
import threading
import time
from dataclasses import asdict
from typing import Any, TypeVar

from ferry.domain.flow_control import Kind, LimitState
from ferry.usecases.flow_control_store import Change, StoreBusy

T = TypeVar("T")
_PK = {"queue": "QUEUE#", "fc": "FC#"}
# Conflicting writers back off and read again; a hot key sees this many tries at most.
MAX_TRIES = 25


def encode(state: LimitState) -> str:
    body = asdict(state)
    body["starts"] = list(state.starts)
    return json.dumps(body, separators=(",", ":"))


def decode(text: str) -> LimitState:
    body = json.loads(text)
    body["starts"] = tuple(body.get("starts") or ())
    known = LimitState.__dataclass_fields__
    return LimitState(**{k: v for k, v in body.items() if k in known})


class DynamoLimits:
    def __init__(self, client: Any, *, table_name: str) -> None:
        self._ddb = client
        self._table = table_name
        # Writers of one key in this process take turns: the dispatcher delivers a batch in
        # threads, and conflicting conditional writes among them would only be wasted requests.
        # (It also makes `ferry dev` exact: moto's conditional writes are not atomic across threads.)
        self._key_locks: dict[tuple[str, str], threading.Lock] = {}
        self._locks_lock = threading.Lock()

    def _lock_of(self, kind: Kind, name: str) -> threading.Lock:
        with self._locks_lock:
            if len(self._key_locks) > 10_000:
                self._key_locks.clear()  # bounded; a lock dropped while held only costs a conflict
            return self._key_locks.setdefault((kind, name), threading.Lock())

    @staticmethod
    def _key(kind: Kind, name: str) -> dict[str, Any]:
        return {"pk": {"S": _PK[kind] + name}, "sk": {"S": "LIMIT"}}

    def _read(self, kind: Kind, name: str) -> tuple[LimitState | None, int]:
        item = self._ddb.get_item(TableName=self._table, Key=self._key(kind, name), ConsistentRead=True).get(
            "Item"
        )
        if not item:
            return None, 0
        return decode(item["state"]["S"]), int(item["version"]["N"])

    def get(self, kind: Kind, name: str) -> LimitState | None:
        return self._read(kind, name)[0]

    def update(self, kind: Kind, name: str, change: Change[T]) -> T:
        with self._lock_of(kind, name):
            return self._update(kind, name, change)

    def _update(self, kind: Kind, name: str, change: Change[T]) -> T:
        for attempt in range(MAX_TRIES):
            current, version = self._read(kind, name)
            answer, updated = change(current)
            if updated is None or updated is current:
                return answer
            item = {
                **self._key(kind, name),
                "gsi1pk": {"S": f"LIMITS#{kind}"},
                "gsi1sk": {"S": name},
                "state": {"S": encode(updated)},
                "version": {"N": str(version + 1)},
            }
            condition: dict[str, Any] = (
                {"ConditionExpression": "attribute_not_exists(pk)"}
                if current is None
                else {
                    "ConditionExpression": "version = :v",
                    "ExpressionAttributeValues": {":v": {"N": str(version)}},
                }
            )
            try:
                self._ddb.put_item(TableName=self._table, Item=item, **condition)
                return answer
            except self._ddb.exceptions.ConditionalCheckFailedException:
                time.sleep(random.uniform(0, 0.01 * (attempt + 1)))
        raise StoreBusy(f"{kind} {name}: too many concurrent updates")

    def delete(self, kind: Kind, name: str) -> bool:
        response = self._ddb.delete_item(
            TableName=self._table, Key=self._key(kind, name), ReturnValues="ALL_OLD"
        )
        return bool(response.get("Attributes"))

    def list(self, kind: Kind) -> list[LimitState]:
        states: list[LimitState] = []
        params: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": "gsi1",
            "KeyConditionExpression": "gsi1pk = :pk",
            "ExpressionAttributeValues": {":pk": {"S": f"LIMITS#{kind}"}},
        }
        while True:
            page = self._ddb.query(**params)
            states.extend(decode(item["state"]["S"]) for item in page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                return states
            params["ExclusiveStartKey"] = page["LastEvaluatedKey"]
