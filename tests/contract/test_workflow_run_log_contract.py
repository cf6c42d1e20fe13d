"""One contract for both run logs: DynamoRunLog (on moto, in process) and its in-memory twin."""

from __future__ import annotations

import dataclasses
import uuid

import pytest

from ferry.adapters.memory.clock import ManualClock
from ferry.adapters.memory.workflow_run_log import InMemoryRunLog
from ferry.domain.envelope import Envelope, RedactSpec
from ferry.domain.workflow_protocol import MessageKind, Run, RunMessage, RunState, StepInfo, Waiter, WaitInfo
from ferry.usecases.workflow_ports import RunClosed


@pytest.fixture
def log(kind: str, request: pytest.FixtureRequest) -> object:
    if kind == "memory":
        return InMemoryRunLog()
    from ferry.adapters.workflow_run_log import DynamoRunLog

    aws = request.getfixturevalue("aws")
    table = request.getfixturevalue("table_name")
    return DynamoRunLog(aws.dynamodb, table_name=table, clock=ManualClock())


@pytest.fixture
def run_id() -> str:
    """Unique per test: the moto table is shared by the whole contract session."""
    return "wfr_" + uuid.uuid4().hex[:12]


def _run(run_id: str, created: int = 1_000) -> Run:
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


def test_creating_a_run_is_idempotent_on_its_id(log, run_id):
    assert log.create_run(_run(run_id)) is True
    assert log.create_run(_run(run_id)) is False
    assert log.get_run(run_id).state is RunState.RUNNING
    assert log.get_run(run_id + "-other") is None


def test_a_run_keeps_the_redaction_its_start_asked_for(log, run_id):
    redact = RedactSpec(body=True, headers=("Authorization",))
    log.create_run(dataclasses.replace(_run(run_id), redact=redact, labels=("team-a",)))
    assert (log.get_run(run_id).redact, log.get_run(run_id).labels) == (redact, ("team-a",))
    log.create_run(_run(run_id + "-plain"))
    assert log.get_run(run_id + "-plain").redact is None


def test_messages_come_back_in_acceptance_order_with_sequence_numbers(log, run_id):
    log.create_run(_run(run_id))
    for message_id, step in (("m0", None), ("m1", 1), ("m2", 2)):
        log.append(
            run_id, _message(message_id, step, MessageKind.INITIAL if step is None else MessageKind.STEP)
        )
    messages = log.messages(run_id)
    assert [(m.seq, m.message_id) for m in messages] == [(0, "m0"), (1, "m1"), (2, "m2")]
    assert messages[1].step == StepInfo(1, "step-1", "Run")
    assert messages[2].envelope.body == '{"stepId": 2}'
    assert log.find(run_id, "m2").seq == 2


def test_a_step_published_twice_is_kept_once_and_the_first_copy_returned(log, run_id):
    log.create_run(_run(run_id))
    first = log.append(run_id, _message("m1", 1))
    again = log.append(run_id, _message("m1-again", 1))
    assert again.message_id == first.message_id == "m1"
    assert [m.message_id for m in log.messages(run_id)] == ["m1"]


def test_an_ended_run_refuses_appends_and_keeps_its_end_state(log, run_id):
    log.create_run(_run(run_id))
    assert log.set_state(run_id, RunState.CANCELED, 2_000, only_if_running=True) is True
    assert log.set_state(run_id, RunState.SUCCESS, 3_000, only_if_running=True) is False
    with pytest.raises(RunClosed):
        log.append(run_id, _message("m1", 1))
    run = log.get_run(run_id)
    assert (run.state, run.updated_at) == (RunState.CANCELED, 2_000)
    assert log.set_state(run_id, RunState.RUNNING, 4_000, only_if_running=False) is True


def test_runs_are_listed_newest_first_in_pages(log, run_id):
    # Later than any other run in the shared table, so these five are the newest.
    newest = 9_000_000_000_000
    for index in range(5):
        log.create_run(_run(f"{run_id}-{index}", created=newest + index))
    first, cursor = log.list_runs(limit=3)
    assert [r.run_id for r in first] == [f"{run_id}-{i}" for i in (4, 3, 2)]
    rest, _ = log.list_runs(limit=3, cursor=cursor)
    assert [r.run_id for r in rest][:2] == [f"{run_id}-{i}" for i in (1, 0)]


def test_execution_is_recorded_on_the_run(log, run_id):
    log.create_run(_run(run_id))
    log.set_execution(run_id, "arn:aws:states:us-east-1:1:execution:ferry-run-driver:" + run_id + "-s2", 2)
    run = log.get_run(run_id)
    assert (run.execution.endswith(run_id + "-s2"), run.segment) == (True, 2)


def test_a_claim_left_without_its_message_by_a_crash_is_repaired_by_the_next_copy(log, run_id):
    from ferry.adapters.workflow_run_log import DynamoRunLog

    if not isinstance(log, DynamoRunLog):
        pytest.skip("only the DynamoDB log writes the claim and the message separately")
    log.create_run(_run(run_id))
    # The crash: the step's claim was written (seq 0), its message was not.
    log._ddb.put_item(
        TableName=log._table, Item={"pk": {"S": f"WFR#{run_id}"}, "sk": {"S": "KEY#S1"}, "seq": {"N": "0"}}
    )
    log._ddb.update_item(
        TableName=log._table,
        Key={"pk": {"S": f"WFR#{run_id}"}, "sk": {"S": "RUN"}},
        UpdateExpression="SET nextSeq = :one",
        ExpressionAttributeValues={":one": {"N": "1"}},
    )
    stored = log.append(run_id, _message("m1-retried", 1))
    assert (stored.seq, stored.message_id) == (0, "m1-retried")
    assert [m.message_id for m in log.messages(run_id)] == ["m1-retried"]


def test_a_wait_and_its_resolution_keep_what_they_wait_for_and_resolve(log, run_id):
    log.create_run(dataclasses.replace(_run(run_id), parent_run_id="wfr_parent", parent_wait_id="w0"))
    wait = dataclasses.replace(
        _message("w1", 1, MessageKind.WAIT), dedup_key="W1", wait=WaitInfo(event_id="paid", deadline_ms=5_000)
    )
    log.append(run_id, wait)
    log.append(run_id, dataclasses.replace(_message("r1", 1), resolves="w1"))
    stored_wait, resolution = log.messages(run_id)
    assert (stored_wait.kind, stored_wait.wait) == (
        MessageKind.WAIT,
        WaitInfo(event_id="paid", deadline_ms=5_000),
    )
    assert (resolution.resolves, resolution.wait) == ("w1", None)
    assert (log.get_run(run_id).parent_run_id, log.get_run(run_id).parent_wait_id) == ("wfr_parent", "w0")
    assert log.wait_token(run_id, "w1") is None
    log.put_wait_token(run_id, "w1", "token-1")
    assert log.wait_token(run_id, "w1") == "token-1"


def test_waiters_are_listed_per_event_until_removed(log, run_id):
    event = "evt-" + run_id
    first = Waiter(
        event_id=event, run_id=run_id, wait_id="w1", url="https://app.example/wf", created_ms=1, deadline_ms=9
    )
    second = dataclasses.replace(first, wait_id="w2", created_ms=2)
    log.add_waiter(first)
    log.add_waiter(second)
    assert list(log.waiters(event)) == [first, second]
    assert list(log.waiters(event + "-other")) == []
    log.remove_waiter(event, run_id, "w1")
    assert list(log.waiters(event)) == [second]


def test_notified_events_are_read_back_oldest_first_from_a_time_on(log, run_id):
    event = "evt-" + run_id
    log.record_event(event, '{"n":1}', 1_000, keep_seconds=60)
    log.record_event(event, '{"n":2}', 2_000, keep_seconds=60)
    assert list(log.events(event, 0)) == [(1_000, '{"n":1}'), (2_000, '{"n":2}')]
    assert list(log.events(event, 1_500)) == [(2_000, '{"n":2}')]
    assert list(log.events(event, 2_000)) == [(2_000, '{"n":2}')]
    assert list(log.events(event + "-other", 0)) == []


def test_a_runs_trigger_time_retries_and_retry_delay_are_kept_with_it(log, run_id):
    log.create_run(dataclasses.replace(_run(run_id), step_retries=1, step_retry_delay="1000 * retried"))
    run = log.get_run(run_id)
    assert (run.step_retries, run.step_retry_delay) == (1, "1000 * retried")
    other = "wfr_" + uuid.uuid4().hex[:12]
    log.create_run(_run(other))
    assert (log.get_run(other).step_retries, log.get_run(other).step_retry_delay) == (None, None)
