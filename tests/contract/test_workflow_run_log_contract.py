"""One contract for both run logs: DynamoRunLog (on moto, in process) and its in-memory twin."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ferry.adapters.memory.clock import ManualClock
from ferry.adapters.memory.workflow_run_log import InMemoryRunLog
from ferry.domain.envelope import Envelope
from ferry.domain.workflow_protocol import MessageKind, Run, RunMessage, RunState, StepInfo
from ferry.usecases.workflow_ports import RunClosed


@pytest.fixture(params=["memory", "dynamodb"])
def log(request: pytest.FixtureRequest) -> Iterator[object]:
    if request.param == "memory":
        yield InMemoryRunLog()
        return
    import boto3
    from moto import mock_aws

    from ferry.adapters.workflow_run_log import DynamoRunLog
    from ferry.config import DEFAULT_CONFIG
    from ferry.resources import declare

    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        table = declare(DEFAULT_CONFIG).table("table")
        client.create_table(
            TableName=table.name,
            BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[
                {"AttributeName": n, "AttributeType": "S"} for n in ("pk", "sk", "gsi1pk", "gsi1sk")
            ],
            KeySchema=[
                {"AttributeName": "pk", "KeyType": "HASH"},
                {"AttributeName": "sk", "KeyType": "RANGE"},
            ],
            GlobalSecondaryIndexes=[
                {
                    "IndexName": "gsi1",
                    "KeySchema": [
                        {"AttributeName": "gsi1pk", "KeyType": "HASH"},
                        {"AttributeName": "gsi1sk", "KeyType": "RANGE"},
                    ],
                    "Projection": {"ProjectionType": "ALL"},
                }
            ],
        )
        yield DynamoRunLog(client, table_name=table.name, clock=ManualClock())


def _run(run_id: str = "wfr_a", created: int = 1_000) -> Run:
    return Run(
        run_id=run_id,
        url="https://app.example/wf",
        state=RunState.RUNNING,
        created_at=created,
        updated_at=created,
    )


def _message(message_id: str, step_id: int | None, kind: MessageKind = MessageKind.STEP) -> RunMessage:
    envelope = Envelope(
        id=message_id,
        destination="https://app.example/wf",
        body=f'{{"stepId": {step_id or 0}}}',
        created_at=1,
        not_before=1,
        max_retries=3,
        timeout=30,
    )
    step = StepInfo(step_id, f"step-{step_id}", "Run") if step_id is not None else None
    return RunMessage(
        seq=-1,
        message_id=message_id,
        kind=kind,
        envelope=envelope,
        dedup_key=step.dedup_key if step else "INIT",
        step=step,
    )


def test_creating_a_run_is_idempotent_on_its_id(log):
    assert log.create_run(_run()) is True
    assert log.create_run(_run()) is False
    assert log.get_run("wfr_a").state is RunState.RUNNING
    assert log.get_run("wfr_other") is None


def test_messages_come_back_in_acceptance_order_with_sequence_numbers(log):
    log.create_run(_run())
    for message_id, step in (("m0", None), ("m1", 1), ("m2", 2)):
        log.append(
            "wfr_a", _message(message_id, step, MessageKind.INITIAL if step is None else MessageKind.STEP)
        )
    messages = log.messages("wfr_a")
    assert [(m.seq, m.message_id) for m in messages] == [(0, "m0"), (1, "m1"), (2, "m2")]
    assert messages[1].step == StepInfo(1, "step-1", "Run")
    assert messages[2].envelope.body == '{"stepId": 2}'
    assert log.find("wfr_a", "m2").seq == 2


def test_a_step_published_twice_is_kept_once_and_the_first_copy_returned(log):
    log.create_run(_run())
    first = log.append("wfr_a", _message("m1", 1))
    again = log.append("wfr_a", _message("m1-again", 1))
    assert again.message_id == first.message_id == "m1"
    assert [m.message_id for m in log.messages("wfr_a")] == ["m1"]


def test_an_ended_run_refuses_appends_and_keeps_its_end_state(log):
    log.create_run(_run())
    assert log.set_state("wfr_a", RunState.CANCELED, 2_000, only_if_running=True) is True
    assert log.set_state("wfr_a", RunState.SUCCESS, 3_000, only_if_running=True) is False
    with pytest.raises(RunClosed):
        log.append("wfr_a", _message("m1", 1))
    run = log.get_run("wfr_a")
    assert (run.state, run.updated_at) == (RunState.CANCELED, 2_000)
    assert log.set_state("wfr_a", RunState.RUNNING, 4_000, only_if_running=False) is True


def test_runs_are_listed_newest_first_in_pages(log):
    for index in range(5):
        log.create_run(_run(f"wfr_{index}", created=1_000 + index))
    first, cursor = log.list_runs(limit=3)
    assert [r.run_id for r in first] == ["wfr_4", "wfr_3", "wfr_2"]
    rest, end = log.list_runs(limit=3, cursor=cursor)
    assert [r.run_id for r in rest] == ["wfr_1", "wfr_0"]
    assert end is None or log.list_runs(limit=3, cursor=end)[0] == []


def test_execution_is_recorded_on_the_run(log):
    log.create_run(_run())
    log.set_execution("wfr_a", "arn:aws:states:us-east-1:1:execution:ferry-run-driver:wfr_a-s2", 2)
    run = log.get_run("wfr_a")
    assert (run.execution.endswith("wfr_a-s2"), run.segment) == (True, 2)


def test_a_claim_left_without_its_message_by_a_crash_is_repaired_by_the_next_copy(log):
    from ferry.adapters.workflow_run_log import DynamoRunLog

    if not isinstance(log, DynamoRunLog):
        pytest.skip("only the DynamoDB log writes the claim and the message separately")
    log.create_run(_run())
    # The crash: the step's claim was written (seq 0), its message was not.
    log._ddb.put_item(
        TableName=log._table, Item={"pk": {"S": "WFR#wfr_a"}, "sk": {"S": "KEY#S1"}, "seq": {"N": "0"}}
    )
    log._ddb.update_item(
        TableName=log._table,
        Key={"pk": {"S": "WFR#wfr_a"}, "sk": {"S": "RUN"}},
        UpdateExpression="SET nextSeq = :one",
        ExpressionAttributeValues={":one": {"N": "1"}},
    )
    stored = log.append("wfr_a", _message("m1-retried", 1))
    assert (stored.seq, stored.message_id) == (0, "m1-retried")
    assert [m.message_id for m in log.messages("wfr_a")] == ["m1-retried"]
