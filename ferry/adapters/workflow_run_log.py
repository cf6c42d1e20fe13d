"""DynamoRunLog: workflow runs and their messages in the one table.

Key design (docs/workflows.md):
  run        pk=WFR#<runId>  sk=RUN              state, url, execution, next sequence number
             gsi1pk=WFRUNS   gsi1sk=<createdMs:013>#<runId>      runs newest first
  message    pk=WFR#<runId>  sk=MSG#<seq:08>     the envelope as published, step id/name/type
  step claim pk=WFR#<runId>  sk=KEY#<dedupKey>   conditional put: one copy of each step id
                                                 (written before its message; no transaction)
  wait token pk=WFR#<runId>  sk=TOKEN#<waitId>   the run driver's task token of a WAIT
  waiter     pk=WFEVT#<eventId> sk=WAIT#<runId>#<waitId>   runs waiting for an event
  event      pk=WFEVT#<eventId> sk=EVENT#<ms:013>#<n>      notified events, kept for the lookback
A run partition is read with one strongly consistent Query to assemble a delivery. Items carry a
`ttl` of a year and a month past the last write (a run may sleep up to a year).
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Sequence
from typing import Any

from ferry.domain.envelope import Envelope, RedactSpec
from ferry.domain.workflow_protocol import MessageKind, Run, RunMessage, RunState, StepInfo, Waiter, WaitInfo
from ferry.usecases.ports import Clock
from ferry.usecases.workflow_ports import RunClosed

RUN_TTL_SECONDS = 400 * 86_400
RUNS_INDEX_KEY = "WFRUNS"


def _s(value: str) -> dict[str, str]:
    return {"S": value}


def _n(value: int) -> dict[str, str]:
    return {"N": str(int(value))}


class DynamoRunLog:
    def __init__(self, client: Any, *, table_name: str, clock: Clock) -> None:
        self._ddb = client
        self._table = table_name
        self._clock = clock

    def _ttl(self) -> dict[str, str]:
        return _n(int(self._clock.now()) + RUN_TTL_SECONDS)

    @staticmethod
    def _pk(run_id: str) -> dict[str, str]:
        return _s(f"WFR#{run_id}")

    def create_run(self, run: Run) -> bool:
        item = {
            "pk": self._pk(run.run_id),
            "sk": _s("RUN"),
            "gsi1pk": _s(RUNS_INDEX_KEY),
            "gsi1sk": _s(f"{run.created_at:013d}#{run.run_id}"),
            "runId": _s(run.run_id),
            "url": _s(run.url),
            "state": _s(run.state.value),
            "createdAt": _n(run.created_at),
            "updatedAt": _n(run.updated_at),
            "execution": _s(run.execution),
            "segment": _n(run.segment),
            "nextSeq": _n(0),
            "labels": _s(json.dumps(list(run.labels))),
            "ttl": self._ttl(),
        }
        if run.redact is not None:
            item["redact"] = _s(run.redact.model_dump_json())
        if run.parent_run_id and run.parent_wait_id:
            item["parent"] = _s(json.dumps([run.parent_run_id, run.parent_wait_id]))
        if run.step_retries is not None:
            item["stepRetries"] = _n(run.step_retries)
        if run.step_retry_delay is not None:
            item["stepRetryDelay"] = _s(run.step_retry_delay)
        try:
            self._ddb.put_item(
                TableName=self._table, Item=item, ConditionExpression="attribute_not_exists(pk)"
            )
        except self._ddb.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def get_run(self, run_id: str) -> Run | None:
        item = self._ddb.get_item(
            TableName=self._table, Key={"pk": self._pk(run_id), "sk": _s("RUN")}, ConsistentRead=True
        ).get("Item")
        return _run(item) if item else None

    def append(self, run_id: str, message: RunMessage) -> RunMessage:
        key = {"pk": self._pk(run_id), "sk": _s("RUN")}
        try:
            updated = self._ddb.update_item(
                TableName=self._table,
                Key=key,
                UpdateExpression="SET nextSeq = nextSeq + :one",
                ConditionExpression="#state = :running",
                ExpressionAttributeNames={"#state": "state"},
                ExpressionAttributeValues={":one": _n(1), ":running": _s(RunState.RUNNING.value)},
                ReturnValues="UPDATED_NEW",
            )
        except self._ddb.exceptions.ConditionalCheckFailedException:
            raise RunClosed(run_id) from None
        seq = int(updated["Attributes"]["nextSeq"]["N"]) - 1
        item = {
            "pk": self._pk(run_id),
            "sk": _s(f"MSG#{seq:08d}"),
            "seq": _n(seq),
            "messageId": _s(message.message_id),
            "kind": _s(message.kind.value),
            "envelope": _s(message.envelope.to_json()),
            "dedupKey": _s(message.dedup_key),
            "notBeforeHeader": {"BOOL": message.not_before_header},
            "ttl": self._ttl(),
        }
        if message.step is not None:
            item["step"] = _s(
                json.dumps(
                    {
                        "id": message.step.step_id,
                        "name": message.step.step_name,
                        "type": message.step.step_type,
                        "target": message.step.target_step,
                    }
                )
            )
        if message.wait is not None:
            item["wait"] = _s(
                json.dumps(
                    {
                        "event": message.wait.event_id,
                        "deadline": message.wait.deadline_ms,
                        "child": message.wait.child_run_id,
                    }
                )
            )
        if message.resolves:
            item["resolves"] = _s(message.resolves)
        claim = {
            "pk": self._pk(run_id),
            "sk": _s(f"KEY#{message.dedup_key}"),
            "seq": _n(seq),
            "ttl": self._ttl(),
        }
        # Claim the step first (conditional put), then write the message. No transaction: a crash
        # in between leaves a claim without its message, which the next copy of the step repairs.
        try:
            self._ddb.put_item(
                TableName=self._table, Item=claim, ConditionExpression="attribute_not_exists(pk)"
            )
        except self._ddb.exceptions.ConditionalCheckFailedException:
            earlier, claimed_seq = self._claimed(run_id, message.dedup_key)
            if earlier is not None:
                return earlier
            item = {**item, "sk": _s(f"MSG#{claimed_seq:08d}"), "seq": _n(claimed_seq)}
        self._ddb.put_item(TableName=self._table, Item=item)
        return _message(item)

    def _claimed(self, run_id: str, dedup_key: str) -> tuple[RunMessage | None, int]:
        """The message holding the claim of `dedup_key`, and the claimed sequence number."""
        claim = self._ddb.get_item(
            TableName=self._table,
            Key={"pk": self._pk(run_id), "sk": _s(f"KEY#{dedup_key}")},
            ConsistentRead=True,
        )["Item"]
        seq = int(claim["seq"]["N"])
        item = self._ddb.get_item(
            TableName=self._table,
            Key={"pk": self._pk(run_id), "sk": _s(f"MSG#{seq:08d}")},
            ConsistentRead=True,
        ).get("Item")
        return (_message(item) if item else None), seq

    def messages(self, run_id: str) -> Sequence[RunMessage]:
        out: list[RunMessage] = []
        kwargs: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :msg)",
            "ExpressionAttributeValues": {":pk": self._pk(run_id), ":msg": _s("MSG#")},
            "ConsistentRead": True,
        }
        while True:
            page = self._ddb.query(**kwargs)
            out.extend(_message(item) for item in page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                return out
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def find(self, run_id: str, message_id: str) -> RunMessage | None:
        return next((m for m in self.messages(run_id) if m.message_id == message_id), None)

    def set_state(
        self, run_id: str, state: RunState, now_ms: int, *, error: str | None = None, only_if_running: bool
    ) -> bool:
        names = {"#state": "state"}
        values: dict[str, Any] = {":state": _s(state.value), ":now": _n(now_ms)}
        condition = "attribute_exists(pk)"
        if only_if_running:
            condition += " AND #state = :running"
            values[":running"] = _s(RunState.RUNNING.value)
        update = "SET #state = :state, updatedAt = :now"
        if error is not None:
            update += ", #error = :error"
            names["#error"] = "error"
            values[":error"] = _s(error)
        try:
            self._ddb.update_item(
                TableName=self._table,
                Key={"pk": self._pk(run_id), "sk": _s("RUN")},
                UpdateExpression=update,
                ConditionExpression=condition,
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
            )
        except self._ddb.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def set_execution(self, run_id: str, execution: str, segment: int) -> None:
        self._ddb.update_item(
            TableName=self._table,
            Key={"pk": self._pk(run_id), "sk": _s("RUN")},
            UpdateExpression="SET execution = :execution, #segment = :segment",
            ExpressionAttributeNames={"#segment": "segment"},
            ExpressionAttributeValues={":execution": _s(execution), ":segment": _n(segment)},
        )

    def list_runs(self, *, limit: int, cursor: str | None = None) -> tuple[list[Run], str | None]:
        kwargs: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": "gsi1",
            "KeyConditionExpression": "gsi1pk = :runs",
            "ExpressionAttributeValues": {":runs": _s(RUNS_INDEX_KEY)},
            "ScanIndexForward": False,
            "Limit": limit,
        }
        if cursor:
            run_id = cursor.partition("#")[2]
            kwargs["ExclusiveStartKey"] = {
                "pk": self._pk(run_id),
                "sk": _s("RUN"),
                "gsi1pk": _s(RUNS_INDEX_KEY),
                "gsi1sk": _s(cursor),
            }
        page = self._ddb.query(**kwargs)
        runs = [_run(item) for item in page.get("Items", [])]
        last = page.get("LastEvaluatedKey")
        return runs, (last["gsi1sk"]["S"] if last else None)

    # --- waits --------------------------------------------------------------------------------

    def put_wait_token(self, run_id: str, wait_id: str, token: str) -> None:
        self._ddb.put_item(
            TableName=self._table,
            Item={
                "pk": self._pk(run_id),
                "sk": _s(f"TOKEN#{wait_id}"),
                "token": _s(token),
                "ttl": self._ttl(),
            },
        )

    def wait_token(self, run_id: str, wait_id: str) -> str | None:
        item = self._ddb.get_item(
            TableName=self._table,
            Key={"pk": self._pk(run_id), "sk": _s(f"TOKEN#{wait_id}")},
            ConsistentRead=True,
        ).get("Item")
        return item["token"]["S"] if item else None

    def add_waiter(self, waiter: Waiter) -> None:
        self._ddb.put_item(
            TableName=self._table,
            Item={
                "pk": _s(f"WFEVT#{waiter.event_id}"),
                "sk": _s(f"WAIT#{waiter.run_id}#{waiter.wait_id}"),
                "eventId": _s(waiter.event_id),
                "runId": _s(waiter.run_id),
                "waitId": _s(waiter.wait_id),
                "url": _s(waiter.url),
                "createdAt": _n(waiter.created_ms),
                "deadline": _n(waiter.deadline_ms),
                "ttl": _n(waiter.deadline_ms // 1000 + 86_400),
            },
        )

    def waiters(self, event_id: str) -> Sequence[Waiter]:
        return [_waiter(item) for item in self._event_items(event_id, "WAIT#")]

    def remove_waiter(self, event_id: str, run_id: str, wait_id: str) -> None:
        self._ddb.delete_item(
            TableName=self._table,
            Key={"pk": _s(f"WFEVT#{event_id}"), "sk": _s(f"WAIT#{run_id}#{wait_id}")},
        )

    def record_event(self, event_id: str, data: str, now_ms: int, *, keep_seconds: int) -> None:
        self._ddb.put_item(
            TableName=self._table,
            Item={
                "pk": _s(f"WFEVT#{event_id}"),
                "sk": _s(f"EVENT#{now_ms:013d}#{secrets.token_hex(4)}"),
                "at": _n(now_ms),
                "data": _s(data),
                "ttl": _n(now_ms // 1000 + keep_seconds + 60),
            },
        )

    def events(self, event_id: str, since_ms: int) -> Sequence[tuple[int, str]]:
        items = self._event_items(event_id, "EVENT#", after=f"EVENT#{since_ms:013d}")
        return [(int(item["at"]["N"]), item["data"]["S"]) for item in items]

    def _event_items(self, event_id: str, prefix: str, after: str | None = None) -> list[dict[str, Any]]:
        values: dict[str, Any] = {":pk": _s(f"WFEVT#{event_id}"), ":prefix": _s(prefix)}
        condition = "pk = :pk AND begins_with(sk, :prefix)"
        if after is not None:
            # EVENT#<ms>... sorts by time: everything from `since` on, up to the prefix's end.
            condition = "pk = :pk AND sk BETWEEN :after AND :end"
            values = {":pk": values[":pk"], ":after": _s(after), ":end": _s(prefix + "~")}
        out: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": condition,
            "ExpressionAttributeValues": values,
            "ConsistentRead": True,
        }
        while True:
            page = self._ddb.query(**kwargs)
            out.extend(page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                return out
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _waiter(item: dict[str, Any]) -> Waiter:
    return Waiter(
        event_id=item["eventId"]["S"],
        run_id=item["runId"]["S"],
        wait_id=item["waitId"]["S"],
        url=item["url"]["S"],
        created_ms=int(item["createdAt"]["N"]),
        deadline_ms=int(item["deadline"]["N"]),
    )


def _run(item: dict[str, Any]) -> Run:
    parent = json.loads(item["parent"]["S"]) if "parent" in item else [None, None]
    return Run(
        parent_run_id=parent[0],
        parent_wait_id=parent[1],
        run_id=item["runId"]["S"],
        url=item["url"]["S"],
        state=RunState(item["state"]["S"]),
        created_at=int(item["createdAt"]["N"]),
        updated_at=int(item["updatedAt"]["N"]),
        execution=item.get("execution", {}).get("S", ""),
        segment=int(item.get("segment", {}).get("N", "1")),
        error=item.get("error", {}).get("S"),
        labels=tuple(json.loads(item.get("labels", {}).get("S", "[]"))),
        redact=RedactSpec.model_validate_json(item["redact"]["S"]) if "redact" in item else None,
        step_retries=int(item["stepRetries"]["N"]) if "stepRetries" in item else None,
        step_retry_delay=item.get("stepRetryDelay", {}).get("S"),
    )


def _message(item: dict[str, Any]) -> RunMessage:
    step = None
    if "step" in item:
        raw = json.loads(item["step"]["S"])
        step = StepInfo(raw["id"], raw["name"], raw["type"], raw.get("target"))
    return RunMessage(
        seq=int(item["seq"]["N"]),
        message_id=item["messageId"]["S"],
        kind=MessageKind(item["kind"]["S"]),
        envelope=Envelope.from_json(item["envelope"]["S"]),
        dedup_key=item["dedupKey"]["S"],
        step=step,
        not_before_header=item.get("notBeforeHeader", {}).get("BOOL", False),
        wait=_wait(item),
        resolves=item.get("resolves", {}).get("S"),
    )


def _wait(item: dict[str, Any]) -> WaitInfo | None:
    if "wait" not in item:
        return None
    raw = json.loads(item["wait"]["S"])
    return WaitInfo(event_id=raw["event"], deadline_ms=raw["deadline"], child_run_id=raw["child"])
