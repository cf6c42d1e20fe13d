"""The limits delivery step on the in-memory twins with a hand-moved clock: a held message is not
an attempt, a 429 blocks its key, and a slot comes back even when a later step fails."""

from __future__ import annotations

import pytest

from ferry.adapters.memory.limits import InMemoryLimitStore
from ferry.adapters.memory.target import answers
from ferry.domain.delivery import AttemptResult
from ferry.usecases.delivery_pipeline import Outcome
from tests.support.twins import URL, World

OK = AttemptResult(status=200)
FC = {"Upstash-Flow-Control-Key": "k", "Upstash-Flow-Control-Value": "parallelism=1"}


class LimitedWorld(World):
    """The twins' world with queue and flow-control limits."""

    def __init__(self) -> None:
        super().__init__(limit_store=InMemoryLimitStore())
        self.store = self.limit_store

    def enqueue(self, queue: str, headers: dict[str, str] | None = None) -> str:
        return self.publish(destination=URL, headers=headers or {}, body=b"x", queue=queue).message_id


def test_a_paused_queue_holds_its_head_many_times_without_spending_its_retries():
    world = LimitedWorld()
    world.target.route(URL, answers(OK))
    world.queues.upsert("q", parallelism=1, paused=True)
    mid = world.enqueue("q", {"Upstash-Retries": "0"})
    for _ in range(6):
        [report] = world.dispatch()
        assert report.outcome is Outcome.RETRY_SCHEDULED and report.reason == "held: paused"
        world.clock.advance(60)
    assert world.target.requests == []
    assert world.queues.get("q")["lag"] == 1
    world.queues.resume("q")
    [report] = world.dispatch()
    assert report.outcome is Outcome.DELIVERED and report.retried == 0
    assert world.target.requests[0].headers["Upstash-Retried"] == "0"
    assert world.queues.get("q")["lag"] == 0 and world.store.get("queue", "q").held == {}
    assert world.states(mid)[-1] == "DELIVERED"


def test_a_message_over_its_keys_limit_goes_back_on_the_queue_with_its_attempts():
    world = LimitedWorld()
    world.target.route(URL, answers(OK))
    held_by = world.gate.enter  # a delivery of another message holds the only slot
    first = world.send(headers=FC)
    [message] = world.queue.receive()
    assert message.envelope.id == first
    entry = held_by(message, message.envelope, retried=0)
    second = world.send(headers=FC)
    [report] = world.dispatch()
    assert report.outcome is Outcome.REQUEUED and report.reason == "held: parallelism"
    assert world.target.requests == []
    world.gate.leave(entry)
    world.clock.advance(60)
    [report] = world.dispatch()  # (the first one is still in the other dispatcher's hands)
    assert report.outcome is Outcome.DELIVERED and report.retried == 0
    assert world.states(second)[-1] == "DELIVERED"


def test_a_429_blocks_every_message_of_the_key_for_its_retry_after():
    world = LimitedWorld()
    slow_down = AttemptResult(status=429, headers={"Retry-After": "30"})
    world.target.route(URL, answers(slow_down, OK, OK))
    headers = {"Upstash-Flow-Control-Key": "k", "Upstash-Flow-Control-Value": "parallelism=5"}
    world.send(headers=headers)
    [refused] = world.dispatch()
    assert refused.outcome is Outcome.RETRY_SCHEDULED
    waiting = world.send(headers=headers)
    [held] = world.dispatch()
    assert held.reason == "held: backpressure" and len(world.target.requests) == 1
    # The wait is in the waiting message's log, not counted as an attempt.
    [logged] = [e for e in world.history.events(waiting) if e.state == "RETRY"]
    assert "429/503" in logged.error and logged.retried == 0
    world.clock.advance(31)
    outcomes = sorted(str(r.outcome) for r in world.dispatch())
    assert outcomes == ["delivered", "delivered"]


def test_a_slot_comes_back_when_a_later_step_fails():
    world = LimitedWorld()

    def broken(request):
        raise RuntimeError("target adapter bug")

    world.target.route(URL, broken)
    world.send(headers=FC)
    with pytest.raises(RuntimeError):
        world.dispatch()
    assert world.store.get("fc", "k").leases == {}


def test_a_lease_never_given_back_expires_after_the_attempt_timeout_and_margin():
    world = LimitedWorld()
    world.target.route(URL, answers(OK))
    world.send(headers={**FC, "Upstash-Timeout": "5s"})
    [crashed] = world.queue.receive()
    world.gate.enter(crashed, crashed.envelope, retried=0)  # the dispatcher dies here
    world.send(headers=FC)
    world.clock.advance(14)
    assert [r.reason for r in world.dispatch()] == ["held: parallelism"]
    world.clock.advance(3)  # 5 s timeout + 10 s margin have passed (and the held one is due)
    assert Outcome.DELIVERED in [r.outcome for r in world.dispatch()]


@pytest.mark.parametrize("status", [429, 503])
def test_a_429_or_503_without_retry_after_holds_the_key_for_the_configured_default(status):
    world = LimitedWorld()
    world.gate.default_backpressure_seconds = 8
    world.target.route(URL, answers(AttemptResult(status=status), OK, OK))
    headers = {"Upstash-Flow-Control-Key": "k", "Upstash-Flow-Control-Value": "parallelism=5"}
    world.send(headers=headers)
    world.dispatch()
    waiting = world.send(headers=headers)
    world.clock.advance(7)  # within the 8 s default (the refused message waits for its retry)
    [held] = world.dispatch()
    assert held.reason == "held: backpressure" and len(world.target.requests) == 1, waiting
    world.clock.advance(60)
    assert sorted(str(r.outcome) for r in world.dispatch()) == ["delivered", "delivered"]


def test_the_default_backpressure_is_configured_from_the_deployment(monkeypatch):
    from ferry.adapters.memory.clock import ManualClock
    from ferry.config import DEFAULT_CONFIG, Env, RuntimeSettings
    from ferry.wiring import Services
    from tests.unit.test_dispatcher_settings import REQUIRED

    assert (
        RuntimeSettings.from_env(REQUIRED).default_backpressure_seconds
        == DEFAULT_CONFIG.default_backpressure_seconds
    )
    settings = RuntimeSettings.from_env({**REQUIRED, Env.BACKPRESSURE_SECONDS: "12"})
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-central-1")  # the gate's store builds a client; no call
    assert Services(settings=settings, clock=ManualClock()).gate.default_backpressure_seconds == 12


def test_a_head_held_while_paused_keeps_its_whole_retry_budget_through_failed_attempts():
    """Receives spent paused are not attempts, on the first attempt and on every retry after it
    (the retries of a FIFO head are receives of the same SQS message)."""
    world = LimitedWorld()
    world.target.route(URL, answers(AttemptResult(status=500)))
    world.queues.upsert("q", parallelism=1, paused=True)
    mid = world.enqueue("q", {"Upstash-Retries": "3"})
    for _ in range(3):
        [report] = world.dispatch()
        assert report.reason == "held: paused"
        world.clock.advance(60)
    world.queues.resume("q")
    for _ in range(10):
        world.dispatch()
        if world.states(mid)[-1] == "FAILED":
            break
        world.clock.advance(3600)
    assert [r.headers["Upstash-Retried"] for r in world.target.requests] == ["0", "1", "2", "3"]
    assert world.states(mid)[-1] == "FAILED"
    assert world.store.get("queue", "q").held == {}, "a finished message leaves no held count"
