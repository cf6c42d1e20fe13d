"""What moto's Step Functions interpreter does with the run driver's one definition: the spike
that fixed the design (docs/workflows.md, "moto"). Each test drives an execution by hand, as the
dispatcher does, through the StepFunctionsDriver adapter."""

from __future__ import annotations

import datetime
import json
import time
import uuid
from collections.abc import Iterator

import pytest

from ferry.adapters.memory.clock import ManualClock
from ferry.adapters.memory.workflow_run_log import InMemoryRunLog
from ferry.adapters.step_functions_driver import StepFunctionsDriver
from ferry.domain.envelope import Envelope
from ferry.domain.workflow_driver import STEP_FAILED_ERROR, execution_input, run_driver_definition_json
from ferry.domain.workflow_protocol import MessageKind, Run, RunMessage, RunState, StepInfo, WaitInfo
from ferry.usecases.workflow_waits import WorkflowWaits
from tests.support.waiting import wait_until

pytestmark = pytest.mark.integration


@pytest.fixture
def moto(stack) -> Iterator[tuple[object, str, StepFunctionsDriver]]:
    """The run driver's definition in `ferry dev`'s in-process moto, on a queue of its own (the
    dev pollers only read Ferry's queues), so the test plays the dispatcher by hand."""
    import boto3

    name = "driver-spike-" + uuid.uuid4().hex[:8]
    sqs = boto3.client("sqs", region_name="us-east-1")
    sfn = boto3.client("stepfunctions", region_name="us-east-1")
    queue = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sfn.create_state_machine(
        name=name,
        definition=run_driver_definition_json(queue),
        roleArn="arn:aws:iam::123456789012:role/ferry-run-driver",
    )["stateMachineArn"]
    try:
        yield sqs, queue, StepFunctionsDriver(sfn, state_machine_arn=arn)
    finally:
        sqs.delete_queue(QueueUrl=queue)


def _task(sqs, queue: str) -> Envelope:
    def receive():
        messages = sqs.receive_message(QueueUrl=queue).get("Messages") or []
        for message in messages:
            sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])
        return messages

    [message] = wait_until(receive, what="the Deliver task's message")
    return Envelope.from_json(message["Body"])


def _ended(driver: StepFunctionsDriver, execution: str) -> str:
    return wait_until(lambda: (s := driver.status(execution)) != "RUNNING" and s, what="the execution to end")


def test_each_delivery_is_a_task_message_the_dispatcher_can_parse_and_sleep_is_a_wait(moto):
    sqs, queue, driver = moto
    execution = driver.start("wfr_a", execution_input("wfr_a", "msg_0"))

    first = _task(sqs, queue)
    assert (first.id, first.destination, first.workflow.run_id, first.workflow.step) == (
        "msg_0",
        "",
        "wfr_a",
        "msg_0",
    )
    started = time.monotonic()
    assert driver.succeed(
        first.workflow.task_token, {"action": "deliver", "messageId": "msg_1", "delaySeconds": 2}
    )
    second = _task(sqs, queue)
    assert second.id == "msg_1" and time.monotonic() - started >= 1.9, "the Wait state held the delivery"

    # The timestamp has whole seconds (Upstash's unix seconds), and moto's Wait state waits the
    # whole seconds left when it starts (int of timestamp - now): 4 s ahead, cut to whole seconds,
    # leaves 2 s or more whatever the clock's fraction, if the call reaches the state within
    # a second. (3 s ahead left 1 s whenever the fraction and the call's delay passed 1 s.)
    soon = datetime.datetime.now(datetime.UTC) + datetime.timedelta(seconds=4)
    started = time.monotonic()
    driver.succeed(
        second.workflow.task_token,
        {"action": "deliver", "messageId": "msg_2", "notBefore": soon.strftime("%Y-%m-%dT%H:%M:%SZ")},
    )
    third = _task(sqs, queue)
    assert time.monotonic() - started >= 1.9, "the Wait state held the delivery until the timestamp"
    driver.succeed(third.workflow.task_token, {"action": "finish"})
    assert _ended(driver, execution) == "SUCCEEDED"


def test_a_failed_step_fails_the_execution_at_its_deliver_state_and_moto_cannot_redrive(moto):
    sqs, queue, driver = moto
    execution = driver.start("wfr_b", execution_input("wfr_b", "msg_0"))
    task = _task(sqs, queue)
    assert driver.fail(task.workflow.task_token, error=STEP_FAILED_ERROR, cause="retries exhausted")
    assert _ended(driver, execution) == "FAILED"
    assert driver.redrive(execution) is False, (
        "moto 5.x has no RedriveExecution: runs continue in a new execution"
    )


def test_stop_during_a_sleep_aborts_at_once(moto):
    sqs, queue, driver = moto
    execution = driver.start("wfr_c", execution_input("wfr_c", "msg_0"))
    task = _task(sqs, queue)
    driver.succeed(task.workflow.task_token, {"action": "deliver", "messageId": "msg_1", "delaySeconds": 600})
    time.sleep(0.3)
    driver.stop(execution, cause="cancelled")
    assert _ended(driver, execution) == "ABORTED"


def test_a_2xx_without_a_next_step_ends_in_the_stalled_failure(moto):
    sqs, queue, driver = moto
    execution = driver.start("wfr_d", execution_input("wfr_d", "msg_0"))
    task = _task(sqs, queue)
    driver.succeed(task.workflow.task_token, {"action": "stalled"})
    assert _ended(driver, execution) == "FAILED"


def test_starting_a_run_twice_is_one_execution(moto):
    _, _, driver = moto
    first = driver.start("wfr_e", execution_input("wfr_e", "msg_0"))
    assert driver.start("wfr_e", execution_input("wfr_e", "msg_0")) == first
    assert json.loads(json.dumps(execution_input("wfr_e", "m")))["next"]["action"] == "deliver"


def test_a_run_cancelled_before_the_dispatcher_keeps_its_wait_token_still_aborts(moto):
    """The dispatcher saw the run running and arms its WaitForEvent task; before the token is
    kept, a cancel marks the run cancelled, stops the execution and finds no token to answer.
    moto holds a stopped execution in its callback task until the task is answered (the wait's
    timeout here is an hour), so keeping the token must answer it."""
    sqs, queue, driver = moto
    clock, log = ManualClock(), InMemoryRunLog()
    waits = WorkflowWaits(log=log, driver=driver, clock=clock)
    now_ms = int(clock.now() * 1000)
    log.create_run(
        Run(
            run_id="wfr_f",
            url="http://127.0.0.1:9/wf",
            state=RunState.RUNNING,
            created_at=now_ms,
            updated_at=now_ms,
        )
    )
    envelope = Envelope(
        id="w1",
        destination="http://127.0.0.1:9/wf",
        body="{}",
        created_at=now_ms,
        not_before=now_ms,
        max_retries=0,
        timeout=30,
    )
    wait = log.append(
        "wfr_f",
        RunMessage(
            seq=-1,
            message_id="w1",
            kind=MessageKind.WAIT,
            envelope=envelope,
            dedup_key="W2",
            step=StepInfo(2, "wait-paid", "Wait"),
            wait=WaitInfo(event_id="paid", deadline_ms=now_ms + 3_600_000),
        ),
    )
    execution = driver.start(
        "wfr_f", {"runId": "wfr_f", "next": {"action": "wait", "messageId": "w1", "timeoutSeconds": 3600}}
    )
    token = _task(sqs, queue).workflow.task_token

    assert log.set_state("wfr_f", RunState.CANCELED, now_ms, only_if_running=True)  # cancel() ...
    driver.stop(execution, cause="cancelled through the API")
    waits.cancelled("wfr_f")  # ... finds no token yet
    waits.armed("wfr_f", wait, token)  # the dispatcher, a moment late

    assert _ended(driver, execution) == "ABORTED"


def test_a_stop_landing_as_the_wait_for_event_state_starts_still_aborts(moto, monkeypatch):
    """A cancel's StopExecution at the instant the run enters WaitForEvent: moto skipped the
    state's timeout then and failed the execution (States.Runtime, "'>' not supported between
    instances of 'dict' and 'int'") instead of aborting it."""
    from moto.stepfunctions.parser.asl.component.state.exec.execute_state import ExecutionState

    sqs, queue, driver = moto
    evaluate = ExecutionState._evaluate_with_timeout

    def stopped_as_it_starts(self, env):
        if self.name == "WaitForEvent":
            env.set_stop(
                stop_date=datetime.datetime.now(datetime.UTC), cause="cancelled", error="Ferry.Canceled"
            )
        return evaluate(self, env)

    monkeypatch.setattr(ExecutionState, "_evaluate_with_timeout", stopped_as_it_starts)
    execution = driver.start(
        "wfr_g", {"runId": "wfr_g", "next": {"action": "wait", "messageId": "w1", "timeoutSeconds": 3600}}
    )

    def ended_answering_tasks() -> str | bool:
        # As the dispatcher does for a run that has ended (WorkflowDelivery._ignore), if a task
        # message was sent at all.
        for message in sqs.receive_message(QueueUrl=queue).get("Messages") or []:
            sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])
            task = Envelope.from_json(message["Body"])
            driver.succeed(task.workflow.task_token, {"action": "canceled"})
        status = driver.status(execution)
        return status != "RUNNING" and status

    assert wait_until(ended_answering_tasks, what="the execution to end") == "ABORTED"
