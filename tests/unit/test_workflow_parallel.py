"""Parallel steps (a JS `Promise.all` of `context.run` steps): the next action that delivers every
plan step at once and then joins, and the dispatcher's side of it, on the in-memory twins (run
log, run driver, queue, target). The endpoint is a stand-in for the SDK: a delivered plan step
stores that branch's result, the array with every result finishes the run."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field

import pytest

from ferry.adapters.memory.run_driver import InMemoryRunDriver
from ferry.adapters.memory.workflow_run_log import InMemoryRunLog
from ferry.domain import workflow_driver
from ferry.domain.delivery import AttemptResult, DeliveryRequest
from ferry.domain.envelope import Envelope
from ferry.domain.workflow_protocol import (
    MessageKind,
    Run,
    RunMessage,
    RunState,
    StepInfo,
    next_action,
    parallel_group,
)
from ferry.usecases.workflow_delivery import WorkflowDelivery
from ferry.usecases.workflow_runs import WorkflowRuns
from ferry.usecases.workflow_waits import WorkflowWaits
from tests.support.twins import World

URL = "https://app.example/wf"
RUN_ID = "wfr_parallel"


def _message(seq: int, step: StepInfo | None, *, max_retries: int = 3) -> RunMessage:
    body: dict = {"n": 1}
    if step is not None:
        body = {"stepId": step.step_id, "stepName": step.step_name, "stepType": step.step_type}
    if step is not None and step.target_step is not None:
        body.update(targetStep=step.target_step, concurrent=3)
    elif step is not None:
        body["out"] = json.dumps(step.step_name)
    envelope = Envelope(
        id=f"m{seq}",
        destination=URL,
        body=json.dumps(body),
        created_at=1_000,
        not_before=1_000,
        max_retries=max_retries,
        timeout=30,
    )
    kind = MessageKind.INITIAL if step is None else MessageKind.STEP
    key = "" if step is None else ("P" if step.target_step else "S") + str(step.target_step or step.step_id)
    return RunMessage(seq=seq, message_id=f"m{seq}", kind=kind, envelope=envelope, dedup_key=key, step=step)


def _plan(seq: int, target: int, step_type: str = "Run", **kw) -> RunMessage:
    return _message(seq, StepInfo(0, f"branch-{target}", step_type, target), **kw)


def _result(seq: int, step_id: int) -> RunMessage:
    return _message(seq, StepInfo(step_id, f"branch-{step_id}", "Run"))


def _run(state: RunState = RunState.RUNNING) -> Run:
    return Run(run_id=RUN_ID, url=URL, state=state, created_at=0, updated_at=0)


# --- the next action ---------------------------------------------------------------------------


def test_after_the_publish_of_the_plan_steps_every_plan_step_is_delivered_at_once():
    messages = [_message(0, None), _plan(1, 1), _plan(2, 2), _plan(3, 3)]
    assert next_action(_run(), messages, 0, now_ms=1_000) == {
        "action": "parallel",
        "messageIds": ["m1", "m2", "m3"],
    }


def test_when_every_branch_has_its_result_the_result_stored_last_is_delivered_and_then_the_next_step():
    # Results in the order the branches finished: the array up to m5 holds all three ("last").
    messages = [_message(0, None), _plan(1, 1), _plan(2, 2), _plan(3, 3), _result(4, 2), _result(5, 3)]
    messages.append(_result(6, 1))
    assert next_action(_run(), messages, 3, now_ms=1_000) == {"action": "deliver", "messageId": "m6"}
    messages.append(_message(7, StepInfo(4, "joined", "Run")))
    assert next_action(_run(), messages, 6, now_ms=1_000) == {"action": "deliver", "messageId": "m7"}


def test_a_group_with_some_results_stored_delivers_only_the_branches_without_one():
    # A redrive after branch 2 failed: branches 1 and 3 are done, their bodies must not run again.
    messages = [_message(0, None), _plan(1, 1), _plan(2, 2), _plan(3, 3), _result(4, 1), _result(5, 3)]
    assert next_action(_run(), messages, 2, now_ms=1_000) == {"action": "parallel", "messageIds": ["m2"]}


def test_branches_that_are_not_all_run_steps_stay_one_after_another():
    # A sleep or call branch has steps of its own between its plan and its result.
    messages = [_message(0, None), _plan(1, 1), _plan(2, 2, "SleepFor"), _plan(3, 3)]
    assert parallel_group(messages, messages[1]) is None
    assert next_action(_run(), messages, 0, now_ms=1_000) == {"action": "deliver", "messageId": "m1"}


# --- the dispatcher, on the twins --------------------------------------------------------------


@dataclass
class Sdk:
    """Answers deliveries as the JS SDK does for a Promise.all of run steps: a plan step runs its
    branch and stores the result; the array holding every result finishes the run."""

    log: InMemoryRunLog
    failing: set[int] = field(default_factory=set)
    skip_result: set[int] = field(default_factory=set)
    # False: the array with every result publishes the next step ("joined") instead of finishing.
    finish_on_join: bool = True
    branches: list[int] = field(default_factory=list)
    joined: list[list[str]] = field(default_factory=list)

    def __call__(self, request: DeliveryRequest) -> AttemptResult:
        items = json.loads(request.body)
        last = json.loads(base64.b64decode(items[-1]["body"]))
        if last.get("stepId") == 0:
            target = last["targetStep"]
            self.branches.append(target)
            if target in self.failing:
                return AttemptResult(status=500, body=b"branch failed")
            if target not in self.skip_result:
                seq = len(self.log.messages(RUN_ID))
                self.log.append(RUN_ID, _result(seq, target))
            return AttemptResult(status=200)
        self.joined.append([item["messageId"] for item in items])
        if self.finish_on_join:
            self.log.set_state(RUN_ID, RunState.SUCCESS, 2_000, only_if_running=True)
        elif last.get("stepName") != "joined":
            seq = len(self.log.messages(RUN_ID))
            self.log.append(RUN_ID, _message(seq, StepInfo(4, "joined", "Run")))
        return AttemptResult(status=200)


def _world(*, can_redrive: bool = True) -> World:
    """`can_redrive=False`: a service without RedriveExecution (moto), a new execution instead."""
    world = World()
    world.log = InMemoryRunLog()
    world.driver = InMemoryRunDriver(world.queue, world.clock, can_redrive=can_redrive)
    waits = WorkflowWaits(log=world.log, driver=world.driver, clock=world.clock)
    world.workflow = WorkflowDelivery(
        deliver=world.deliver,
        log=world.log,
        driver=world.driver,
        history=world.history,
        queue=world.queue,
        clock=world.clock,
        default_timeout_seconds=30,
        waits=waits,
    )
    world.runs = WorkflowRuns(
        log=world.log, driver=world.driver, history=world.history, clock=world.clock, waits=waits
    )
    world.sdk = Sdk(world.log)
    world.target.route(URL, world.sdk)
    return world


@pytest.fixture
def world() -> World:
    return _world()


def _start(world, *, max_retries: int = 3) -> str:
    world.log.create_run(_run())
    for message in (_message(0, None), *(_plan(t, t, max_retries=max_retries) for t in (1, 2, 3))):
        world.log.append(RUN_ID, message)
    action = next_action(_run(), world.log.messages(RUN_ID), 0, now_ms=1_000)
    arn = world.driver.start(RUN_ID, {"runId": RUN_ID, "next": action})
    world.log.set_execution(RUN_ID, arn, 1)
    return arn


def _dispatch(world, received: list | None = None) -> None:
    """The dispatcher, until nothing is visible: each received task delivered and reported."""
    while raw := (received if received is not None else world.queue.receive_raw()):
        received = None
        for message in raw:
            if not world.workflow.received(message).keeps_message_in_queue:
                world.queue.delete(message)


def test_every_branch_task_is_on_the_queue_before_any_answers_then_one_join_delivers_every_result(world):
    execution = _start(world)

    received = world.queue.receive_raw()
    tasks = [Envelope.from_json(m.body) for m in received]
    assert sorted((t.id, t.workflow.branch) for t in tasks) == [("m1", True), ("m2", True), ("m3", True)]
    _dispatch(world, received)

    assert sorted(world.sdk.branches) == [1, 2, 3], "each branch body ran once"
    assert world.sdk.joined == [["m0", "m1", "m2", "m3", "m4", "m5", "m6"]], "one array, every result"
    assert world.driver.status(execution) == "SUCCEEDED"


def test_a_branch_task_whose_result_is_stored_already_is_answered_without_running_the_body(world):
    execution = _start_with_result_of_branch_1(world)
    _dispatch(world)

    assert sorted(world.sdk.branches) == [2, 3], "branch 1's body did not run again"
    assert world.driver.status(execution) == "SUCCEEDED"


def _start_with_result_of_branch_1(world) -> str:
    world.log.create_run(_run())
    for message in (_message(0, None), *(_plan(t, t) for t in (1, 2, 3)), _result(4, 1)):
        world.log.append(RUN_ID, message)
    # An iteration of the Map sent again (AWS redrives a Map's unsuccessful iterations).
    every_branch = {"action": "parallel", "messageIds": ["m1", "m2", "m3"]}
    arn = world.driver.start(RUN_ID, {"runId": RUN_ID, "next": every_branch})
    world.log.set_execution(RUN_ID, arn, 1)
    return arn


def test_a_join_that_finds_a_branch_without_its_result_fails_the_run_as_stalled(world):
    world.sdk.skip_result.add(2)  # 2xx without publishing the result
    execution = _start(world)
    _dispatch(world)

    run = world.log.get_run(RUN_ID)
    assert run.state is RunState.FAILED and "without publishing its result" in run.error
    assert world.driver.status(execution) == "FAILED"
    assert world.sdk.joined == []


@pytest.mark.parametrize("service_redrives", [True, False], ids=["RedriveExecution", "new-execution"])
def test_a_branch_that_spends_its_retries_fails_the_run_once_and_a_redrive_runs_only_the_unfinished(
    service_redrives,
):
    world = _world(can_redrive=service_redrives)
    world.sdk.failing.add(2)
    execution = _start(world, max_retries=0)
    _dispatch(world)

    run = world.log.get_run(RUN_ID)
    assert run.state is RunState.FAILED and world.driver.status(execution) == "FAILED"
    assert world.sdk.joined == []
    done_before = sorted(world.sdk.branches)

    world.sdk.failing.clear()
    world.runs.redrive(RUN_ID)
    _dispatch(world)

    assert world.log.get_run(RUN_ID).state is RunState.SUCCESS
    assert sorted(world.sdk.branches) == sorted([*done_before, 2, *({1, 3} - set(done_before))])
    assert [world.sdk.branches.count(t) for t in (1, 3)] == [1, 1], "finished branches ran once"
    assert world.sdk.joined[-1][:4] == ["m0", "m1", "m2", "m3"] and len(world.sdk.joined[-1]) == 7


def test_a_run_that_passes_messages_per_execution_inside_a_parallel_group_continues_at_the_join(
    world, monkeypatch
):
    # Positions 1-3 are the plan steps, 4-6 the results: the multiple 5 is crossed inside the
    # group, which only the Join's report moves past.
    monkeypatch.setattr(workflow_driver, "MESSAGES_PER_EXECUTION", 5)
    world.sdk.finish_on_join = False
    first = _start(world)
    _dispatch(world)

    assert world.driver.status(first) == "SUCCEEDED", "the first execution handed over"
    run = world.log.get_run(RUN_ID)
    assert run.execution.endswith(f":{RUN_ID}-c1")
    assert world.sdk.joined[-1][-1] == "m7", "the new execution delivered the step after the group"
    assert sorted(world.sdk.branches) == [1, 2, 3]
