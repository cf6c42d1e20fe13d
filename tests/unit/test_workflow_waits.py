"""waitForEvent against notify, each interleaving forced in order (no threads, no timing): an
event is never lost and a wait resolves exactly once, whichever of notify, the wait's start,
the run driver's task (its token) and the timeout comes first. In-memory twins of the run log
and the run driver (their contracts: tests/contract)."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass

import pytest

from ferry.adapters.memory.clock import ManualClock
from ferry.adapters.memory.queue import InMemoryQueue
from ferry.adapters.memory.run_driver import InMemoryRunDriver
from ferry.adapters.memory.workflow_run_log import InMemoryRunLog
from ferry.domain.envelope import Envelope
from ferry.domain.workflow_protocol import MessageKind, Run, RunMessage, RunState, StepInfo, WaitInfo
from ferry.usecases.workflow_waits import DEFAULT_LOOKBACK_SECONDS, WorkflowWaits

RUN = "wfr_race"
EVENT = "order-paid"


@dataclass
class World:
    clock: ManualClock
    log: InMemoryRunLog
    queue: InMemoryQueue
    driver: InMemoryRunDriver
    waits: WorkflowWaits

    def wait_message(self, message_id: str = "w1", step_id: int = 2) -> RunMessage:
        """The WAIT the SDK's `POST /v2/wait/{eventId}` appends (as WorkflowRuns does)."""
        now_ms = int(self.clock.now() * 1000)
        envelope = Envelope(
            id=message_id,
            destination="http://127.0.0.1:9/wf",
            body=json.dumps({"stepId": step_id, "stepName": "wait-paid", "stepType": "Wait"}),
            created_at=now_ms,
            not_before=now_ms,
            max_retries=3,
            timeout=30,
        )
        return self.log.append(
            RUN,
            RunMessage(
                seq=-1,
                message_id=message_id,
                kind=MessageKind.WAIT,
                envelope=envelope,
                dedup_key=f"W{step_id}",
                step=StepInfo(step_id, "wait-paid", "Wait"),
                wait=WaitInfo(event_id=EVENT, deadline_ms=now_ms + 60_000),
            ),
        )

    def driver_waits(self, wait: RunMessage) -> str:
        """The run driver enters WaitForEvent: its task message carries a fresh token."""
        self.driver.start(RUN, {"runId": RUN, "next": {"action": "wait", "messageId": wait.message_id}})
        (task,) = self.queue.receive_raw()
        self.queue.delete(task)
        return json.loads(task.body)["workflow"]["task_token"]

    def resolutions(self, wait: RunMessage) -> list[RunMessage]:
        return [m for m in self.log.messages(RUN) if m.resolves == wait.message_id]

    def delivered_next(self) -> list[str]:
        """Message ids the driver was told to deliver (its Deliver task messages)."""
        ids = []
        for task in self.queue.receive_raw():
            ids.append(json.loads(task.body)["id"])
            self.queue.delete(task)
        return ids


@pytest.fixture
def world() -> World:
    clock = ManualClock()
    log = InMemoryRunLog()
    queue = InMemoryQueue(clock)
    driver = InMemoryRunDriver(queue, clock)
    now_ms = int(clock.now() * 1000)
    log.create_run(
        Run(
            run_id=RUN,
            url="http://127.0.0.1:9/wf",
            state=RunState.RUNNING,
            created_at=now_ms,
            updated_at=now_ms,
        )
    )
    return World(clock, log, queue, driver, WorkflowWaits(log=log, driver=driver, clock=clock))


def _event_of(resolution: RunMessage) -> str | None:
    step = json.loads(resolution.envelope.body_bytes())
    return None if step["waitTimeout"] else base64.b64decode(step["out"]).decode()


def test_an_event_notified_before_the_wait_starts_resolves_it_when_it_starts(world: World):
    assert world.waits.notify(EVENT, '{"paid":1}') == []  # nobody waits yet: kept (lookback)
    world.clock.advance(5)
    wait = world.wait_message()
    world.waits.started(RUN, wait)
    (resolution,) = world.resolutions(wait)
    assert _event_of(resolution) == '{"paid":1}'
    token = world.driver_waits(wait)
    world.waits.armed(RUN, wait, token)
    assert world.delivered_next() == [resolution.message_id]


def test_an_event_older_than_the_lookback_is_not_taken(world: World):
    world.waits.notify(EVENT, '{"paid":1}')
    world.clock.advance(DEFAULT_LOOKBACK_SECONDS + 1)
    wait = world.wait_message()
    world.waits.started(RUN, wait)
    assert world.resolutions(wait) == []


def test_a_notify_after_the_wait_started_but_before_the_driver_waits_is_delivered_when_it_waits(
    world: World,
):
    wait = world.wait_message()
    world.waits.started(RUN, wait)
    woken = world.waits.notify(EVENT, '{"paid":2}')
    (resolution,) = world.resolutions(wait)
    assert [w["messageId"] for w in woken] == [resolution.message_id]
    assert world.delivered_next() == []  # no task yet: nothing could be answered
    token = world.driver_waits(wait)
    world.waits.armed(RUN, wait, token)
    assert world.delivered_next() == [resolution.message_id]


def test_a_notify_while_the_driver_waits_answers_its_task_at_once(world: World):
    wait = world.wait_message()
    world.waits.started(RUN, wait)
    world.waits.armed(RUN, wait, world.driver_waits(wait))
    assert world.delivered_next() == []
    world.waits.notify(EVENT, '{"paid":3}')
    (resolution,) = world.resolutions(wait)
    assert world.delivered_next() == [resolution.message_id]


def test_a_notify_landing_between_the_token_being_kept_and_read_back_still_wakes_the_run(world: World):
    """armed() keeps the token and then reads for a resolution; notify appends the resolution and
    then reads for a token. Forced here: the resolution lands after the token was kept and before
    armed() reads, so both see each other: the run is answered (twice: the second is refused)."""
    wait = world.wait_message()
    world.waits.started(RUN, wait)
    token = world.driver_waits(wait)
    world.log.put_wait_token(RUN, wait.message_id, token)  # armed(), first half
    world.waits.notify(EVENT, '{"paid":4}')  # notify sees the token: answers the task
    world.waits.armed(RUN, wait, token)  # armed(), again: finds the resolution, answers again
    (resolution,) = world.resolutions(wait)
    assert world.delivered_next() == [resolution.message_id]  # one Deliver: the 2nd answer is refused


def test_the_timeout_and_a_notify_resolve_a_wait_once_whichever_comes_first(world: World):
    wait = world.wait_message()
    world.waits.started(RUN, wait)
    world.waits.armed(RUN, wait, world.driver_waits(wait))
    timed_out = world.waits.resolve_event(RUN, wait, None)  # the driver's States.Timeout path
    assert timed_out is not None and _event_of(timed_out) is None
    assert world.waits.notify(EVENT, '{"late":1}') == []
    assert world.resolutions(wait) == [timed_out]


def test_two_notifies_resolve_a_wait_once_with_the_first_event(world: World):
    wait = world.wait_message()
    world.waits.started(RUN, wait)
    world.waits.notify(EVENT, '{"n":1}')
    world.waits.notify(EVENT, '{"n":2}')
    (resolution,) = world.resolutions(wait)
    assert _event_of(resolution) == '{"n":1}'


def test_an_event_a_wait_consumed_is_not_taken_again_by_the_runs_next_wait_on_it(world: World):
    first = world.wait_message("w1", step_id=2)
    world.waits.started(RUN, first)
    world.waits.notify(EVENT, '{"n":1}')
    world.clock.advance(1)
    second = world.wait_message("w2", step_id=3)
    world.waits.started(RUN, second)
    assert world.resolutions(second) == []  # the kept event was the first wait's
    world.waits.notify(EVENT, '{"n":2}')
    (resolution,) = world.resolutions(second)
    assert _event_of(resolution) == '{"n":2}'
