"""DynamoRunLog: workflow runs and their messages in the one table.

Key design (docs/workflows.md):
  run        pk=WFR#<runId>  sk=RUN              state, url, execution, next sequence number
             gsi1pk=WFRUNS   gsi1sk=<createdMs:013>#<runId>      runs newest first
  message    pk=WFR#<runId>  sk=MSG#<seq:08>     the envelope as published, step id/name/type
  step claim pk=WFR#<runId>  sk=KEY#<dedupKey>   conditional put: one copy of each step id
                                                 (written before its message; no transaction)
A run partition is read with one strongly consistent Query to assemble a delivery. Items carry a
`ttl` of a year and a month past the last write (a run may sleep up to a year).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from ferry.domain.envelope import Envelope
from ferry.domain.workflow_protocol import MessageKind, Run, RunMessage, RunState, StepInfo
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


def _run(item: dict[str, Any]) -> Run:
    return Run(
        run_id=item["runId"]["S"],
        url=item["url"]["S"],
        state=RunState(item["state"]["S"]),
        created_at=int(item["createdAt"]["N"]),
        updated_at=int(item["updatedAt"]["N"]),
        execution=item.get("execution", {}).get("S", ""),
        segment=int(item.get("segment", {}).get("N", "1")),
        error=item.get("error", {}).get("S"),
        labels=tuple(json.loads(item.get("labels", {}).get("S", "[]"))),
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
    )
