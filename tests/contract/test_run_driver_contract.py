"""The RunDriver port's contract (`ferry.usecases.workflow_ports.RunDriver`): InMemoryRunDriver
and StepFunctionsDriver on the run driver machine that `ferry dev` provisions from
ferry/resources.py (moto executes it: its waitForTaskToken states put each task's message, with
the task token, on the messages queue, which is where these tests read the token as the
dispatcher does). Sleeps are not run here (moto really waits): the in-memory side's own tests
cover them, as they cover a redrive, which moto 5.x does not implement."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from ferry.adapters.memory.clock import ManualClock
from ferry.config import Env
from ferry.domain.envelope import Envelope
from ferry.domain.workflow_driver import STEP_FAILED_ERROR, execution_input
from ferry.usecases.workflow_ports import RunDriver
from tests.support.waiting import wait_until


@dataclass
class Side:
    driver: RunDriver
    # The next n task messages of this run (waits for them on moto), taken off the queue.
    tasks: Callable[[str, int], list[Envelope]]

    def task(self, run_id: str) -> Envelope:
        [one] = self.tasks(run_id, 1)
        return one


def _memory(clock: ManualClock) -> Side:
    from ferry.adapters.memory.queue import InMemoryQueue
    from ferry.adapters.memory.run_driver import InMemoryRunDriver

    queue = InMemoryQueue(clock)

    def tasks(run_id: str, n: int) -> list[Envelope]:
        mine = [m for m in queue.receive_raw() if Envelope.from_json(m.body).workflow.run_id == run_id]
        assert len(mine) == n, f"{n} task message(s) of {run_id}: {mine}"
        for message in mine:
            queue.delete(message)
        return [Envelope.from_json(m.body) for m in mine]

    return Side(InMemoryRunDriver(queue, clock), tasks)


def _moto(aws) -> Side:
    from ferry.adapters.step_functions_driver import StepFunctionsDriver

    sqs, url = aws.sqs, aws.environ[Env.QUEUE_URL]
    seen: list[tuple[str, Envelope]] = []  # messages of other runs of this suite, read already

    def tasks(run_id: str, n: int) -> list[Envelope]:
        def receive() -> list[Envelope]:
            for message in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
                envelope = Envelope.from_json(message["Body"])
                seen.append((envelope.workflow.run_id, envelope))
            mine = [envelope for owner, envelope in seen if owner == run_id]
            return mine if len(mine) >= n else []

        envelopes = wait_until(receive, timeout=10, what=f"{n} task message(s) of {run_id}")
        assert len(envelopes) == n, envelopes
        for envelope in envelopes:
            seen.remove((run_id, envelope))
        return envelopes

    driver = StepFunctionsDriver(aws.stepfunctions, state_machine_arn=aws.environ[Env.RUN_DRIVER_ARN])
    return Side(driver, tasks)


@pytest.fixture
def side(kind: str, clock: ManualClock, request: pytest.FixtureRequest) -> Side:
    return _memory(clock) if kind == "memory" else _moto(request.getfixturevalue("aws"))


def new_run() -> str:
    return "wfr_" + uuid.uuid4().hex[:12]


def ended(side: Side, execution: str) -> str:
    return wait_until(
        lambda: (status := side.driver.status(execution)) != "RUNNING" and status,
        timeout=10,
        what="the execution to end",
    )


def test_a_started_run_is_one_running_execution_whose_deliver_task_names_the_run_and_step(side: Side):
    run_id = new_run()
    execution = side.driver.start(run_id, execution_input(run_id, "msg_0"))
    assert side.driver.start(run_id, execution_input(run_id, "msg_0")) == execution
    assert side.driver.start(run_id, execution_input(run_id, "msg_other")) == execution, (
        "a repeated start with other input still names the run's one execution"
    )
    assert execution.endswith(f":execution:{execution.split(':')[6]}:{run_id}")
    assert side.driver.status(execution) == "RUNNING"

    task = side.task(run_id)
    assert (task.id, task.destination, task.workflow.run_id, task.workflow.step) == (
        "msg_0", "", run_id, "msg_0",
    )  # fmt: skip
    assert task.workflow.task_token and not task.workflow.waiting


def test_each_answered_deliver_sends_the_next_step_and_finish_succeeds_the_execution(side: Side):
    run_id = new_run()
    execution = side.driver.start(run_id, execution_input(run_id, "msg_0"))
    first = side.task(run_id)
    assert side.driver.succeed(first.workflow.task_token, {"action": "deliver", "messageId": "msg_1"})

    second = side.task(run_id)
    assert second.id == "msg_1" and second.workflow.task_token != first.workflow.task_token
    assert side.driver.succeed(second.workflow.task_token, {"action": "finish"})
    assert ended(side, execution) == "SUCCEEDED"
    assert side.driver.succeed(second.workflow.task_token, {"action": "finish"}) is False, (
        "an answered token is gone"
    )


def test_parallel_sends_every_branch_task_at_once_and_after_the_last_answer_one_join_task(side: Side):
    run_id = new_run()
    execution = side.driver.start(run_id, execution_input(run_id, "msg_0"))
    parallel = {"action": "parallel", "messageIds": ["msg_p1", "msg_p2", "msg_p3"]}
    side.driver.succeed(side.task(run_id).workflow.task_token, parallel)

    branches = side.tasks(run_id, 3)  # all three before any is answered
    assert sorted((b.id, b.workflow.step, b.workflow.branch) for b in branches) == [
        ("msg_p1", "msg_p1", True), ("msg_p2", "msg_p2", True), ("msg_p3", "msg_p3", True),
    ]  # fmt: skip
    assert len({b.workflow.task_token for b in branches}) == 3
    for branch in branches[:2]:
        assert side.driver.succeed(branch.workflow.task_token, {"branch": "done"})
    assert side.driver.succeed(branches[2].workflow.task_token, {"branch": "done"})

    join = side.task(run_id)
    assert (join.id, join.workflow.join, join.workflow.branch) == ("msg_p1", True, False)
    assert side.driver.succeed(join.workflow.task_token, {"action": "deliver", "messageId": "msg_5"})
    assert side.driver.succeed(side.task(run_id).workflow.task_token, {"action": "finish"})
    assert ended(side, execution) == "SUCCEEDED"


def test_a_failed_branch_fails_the_execution(side: Side):
    run_id = new_run()
    execution = side.driver.start(run_id, execution_input(run_id, "msg_0"))
    parallel = {"action": "parallel", "messageIds": ["msg_p1", "msg_p2"]}
    side.driver.succeed(side.task(run_id).workflow.task_token, parallel)
    first, second = side.tasks(run_id, 2)
    assert side.driver.succeed(first.workflow.task_token, {"branch": "done"})
    assert side.driver.fail(second.workflow.task_token, error=STEP_FAILED_ERROR, cause="retries exhausted")
    assert ended(side, execution) == "FAILED"


def test_a_wait_sends_a_waiting_task_and_its_answer_continues_the_run(side: Side):
    run_id = new_run()
    execution = side.driver.start(run_id, execution_input(run_id, "msg_0"))
    side.driver.succeed(
        side.task(run_id).workflow.task_token, {"action": "wait", "messageId": "msg_w", "timeoutSeconds": 600}
    )
    wait = side.task(run_id)
    assert (wait.id, wait.workflow.waiting) == ("msg_w", True)
    assert side.driver.succeed(wait.workflow.task_token, {"action": "finish"})
    assert ended(side, execution) == "SUCCEEDED"


def test_a_failed_step_fails_the_execution(side: Side):
    run_id = new_run()
    execution = side.driver.start(run_id, execution_input(run_id, "msg_0"))
    token = side.task(run_id).workflow.task_token
    assert side.driver.fail(token, error=STEP_FAILED_ERROR, cause="retries exhausted")
    assert ended(side, execution) == "FAILED"


def test_a_next_action_the_machine_does_not_know_fails_the_execution_as_stalled(side: Side):
    run_id = new_run()
    execution = side.driver.start(run_id, execution_input(run_id, "msg_0"))
    side.driver.succeed(side.task(run_id).workflow.task_token, {"action": "stalled"})
    assert ended(side, execution) == "FAILED"


def test_an_execution_stopped_while_it_sleeps_is_aborted_and_stays_so(side: Side):
    run_id = new_run()
    execution = side.driver.start(run_id, execution_input(run_id, "msg_0"))
    sleep = {"action": "deliver", "messageId": "msg_1", "delaySeconds": 600}
    side.driver.succeed(side.task(run_id).workflow.task_token, sleep)
    side.driver.stop(execution, cause="cancelled through the API")
    assert ended(side, execution) == "ABORTED"
    side.driver.stop(execution, cause="twice")  # stopping an ended execution changes nothing
    assert side.driver.status(execution) == "ABORTED"


def test_a_token_no_execution_issued_answers_false(side: Side):
    run_id = new_run()
    side.driver.start(run_id, execution_input(run_id, "msg_0"))
    side.task(run_id)
    bogus = json.dumps({"not": "a token"})
    assert side.driver.succeed(bogus, {"action": "finish"}) is False
    assert side.driver.fail(bogus, error=STEP_FAILED_ERROR, cause="x") is False


def test_only_a_failed_execution_can_be_redriven_a_running_or_succeeded_one_cannot(side: Side):
    run_id = new_run()
    execution = side.driver.start(run_id, execution_input(run_id, "msg_0"))
    task = side.task(run_id)
    assert side.driver.redrive(execution) is False, "a running execution"
    side.driver.succeed(task.workflow.task_token, {"action": "finish"})
    assert ended(side, execution) == "SUCCEEDED"
    assert side.driver.redrive(execution) is False, "a succeeded execution"


def test_an_execution_never_started_is_unknown_and_stopping_it_raises_nothing(side: Side):
    run_id = new_run()
    started = side.driver.start(run_id, execution_input(run_id, "msg_0"))
    side.task(run_id)
    never = started.replace(run_id, new_run())
    assert side.driver.status(never) == "UNKNOWN"
    side.driver.stop(never, cause="nothing to stop")


# --- what moto 5.x cannot show: the in-memory twin follows AWS's documented behaviour ---------
# moto keeps answering the token of a failed execution (AWS: TaskTimedOut), does not abort an
# execution stopped while its task waits, has no RedriveExecution, and really sleeps.


@pytest.fixture
def memory() -> tuple[Side, ManualClock]:
    clock = ManualClock()
    return _memory(clock), clock


def test_in_memory_the_token_of_a_failed_execution_answers_false(memory):
    side, _ = memory
    run_id = new_run()
    side.driver.start(run_id, execution_input(run_id, "msg_0"))
    token = side.task(run_id).workflow.task_token
    side.driver.fail(token, error=STEP_FAILED_ERROR, cause="retries exhausted")
    assert side.driver.fail(token, error=STEP_FAILED_ERROR, cause="again") is False
    assert side.driver.succeed(token, {"action": "finish"}) is False


def test_in_memory_stopping_an_execution_whose_task_waits_aborts_it_and_its_token_answers_false(memory):
    side, _ = memory
    run_id = new_run()
    execution = side.driver.start(run_id, execution_input(run_id, "msg_0"))
    token = side.task(run_id).workflow.task_token
    side.driver.stop(execution, cause="cancelled through the API")
    assert side.driver.status(execution) == "ABORTED"
    assert side.driver.succeed(token, {"action": "finish"}) is False


def test_in_memory_a_failed_execution_is_redriven_at_its_deliver_state_with_a_new_token(memory):
    side, _ = memory
    run_id = new_run()
    execution = side.driver.start(run_id, execution_input(run_id, "msg_0"))
    failed = side.task(run_id)
    side.driver.fail(failed.workflow.task_token, error=STEP_FAILED_ERROR, cause="retries exhausted")

    assert side.driver.redrive(execution) is True
    assert side.driver.status(execution) == "RUNNING"
    again = side.task(run_id)
    assert again.id == "msg_0" and again.workflow.task_token != failed.workflow.task_token
    assert side.driver.succeed(failed.workflow.task_token, {"action": "finish"}) is False
    assert side.driver.succeed(again.workflow.task_token, {"action": "finish"})
    assert side.driver.status(execution) == "SUCCEEDED"
    assert side.driver.redrive(execution) is False


def test_in_memory_a_driver_without_redrive_refuses_it_and_the_failed_execution_stays_failed():
    from ferry.adapters.memory.queue import InMemoryQueue
    from ferry.adapters.memory.run_driver import InMemoryRunDriver

    clock = ManualClock()
    queue = InMemoryQueue(clock)
    driver = InMemoryRunDriver(queue, clock, can_redrive=False)
    run_id = new_run()
    execution = driver.start(run_id, execution_input(run_id, "msg_0"))
    [task] = queue.receive_raw()
    driver.fail(Envelope.from_json(task.body).workflow.task_token, error=STEP_FAILED_ERROR, cause="x")

    assert driver.redrive(execution) is False
    assert driver.status(execution) == "FAILED"


def test_in_memory_a_sleep_holds_the_next_task_until_its_time(memory):
    side, clock = memory
    run_id = new_run()
    side.driver.start(run_id, execution_input(run_id, "msg_0"))
    side.driver.succeed(
        side.task(run_id).workflow.task_token, {"action": "deliver", "messageId": "msg_1", "delaySeconds": 30}
    )
    with pytest.raises(AssertionError, match="1 task message"):
        side.task(run_id)
    clock.advance(30)
    assert side.task(run_id).id == "msg_1"
