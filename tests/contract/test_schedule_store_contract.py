"""The schedule store's contract (`ferry.usecases.schedules.ScheduleStore`): the in-memory twin and
EventBridge Scheduler (on moto) keep, replace, pause, list and delete schedules alike, with the
second (day-of-week) schedule of a cron that restricts both day fields."""

from __future__ import annotations

import uuid

import pytest

from ferry.adapters.memory.clock import ManualClock
from ferry.config import Env
from ferry.domain.envelope import Envelope
from ferry.usecases.schedules import SecondSchedule


@pytest.fixture
def store(kind: str, clock: ManualClock, request: pytest.FixtureRequest):
    if kind == "memory":
        from ferry.adapters.memory.schedules import InMemorySchedules

        yield InMemorySchedules(clock)
        return
    from ferry.adapters.schedules import EventBridgeSchedules

    aws = request.getfixturevalue("aws")
    env = aws.environ
    store = EventBridgeSchedules(
        aws.scheduler,
        group=env[Env.SCHEDULE_GROUP],
        role_arn=env[Env.SCHEDULER_ROLE_ARN],
        queue_arn=env[Env.QUEUE_ARN],
        dlq_arn=env[Env.SCHEDULER_DLQ_ARN],
    )
    yield store
    for schedule_id in store.ids():  # the group is shared by the package's tests
        store.delete(schedule_id)


def template(body: str = "tick") -> Envelope:
    return Envelope(
        id="", destination="https://x.example/hook", created_at=0, not_before=0, max_retries=3,
        timeout=30, body=body,
    )  # fmt: skip


def new_id() -> str:
    return "scd_" + uuid.uuid4().hex[:24]


def put_every_minute(store, schedule_id: str, **options) -> None:
    store.put(
        schedule_id, cron="* * * * *", expression="cron(* * * * ? *)", timezone="UTC", template=template(),
        **options,
    )  # fmt: skip


def test_a_put_schedule_is_read_back_whole(store):
    schedule_id = new_id()
    store.put(
        schedule_id,
        cron="CRON_TZ=Europe/Berlin 30 9 * * MON-FRI",
        expression="cron(30 9 ? * MON-FRI *)",
        timezone="Europe/Berlin",
        template=template("report"),
    )
    got = store.get(schedule_id)
    assert (got.schedule_id, got.cron, got.expression, got.timezone) == (
        schedule_id,
        "CRON_TZ=Europe/Berlin 30 9 * * MON-FRI",
        "cron(30 9 ? * MON-FRI *)",
        "Europe/Berlin",
    )
    assert got.template == template("report")
    assert got.paused is False and got.second is None
    assert isinstance(got.created_at_ms, int) and got.created_at_ms > 0


def test_an_unknown_schedule_is_none_and_pausing_or_deleting_it_says_so(store):
    assert store.get("scd_unknown") is None
    assert store.set_paused("scd_unknown", True) is False
    assert store.delete("scd_unknown") is False
    assert "scd_unknown" not in store.ids()


def test_a_second_put_replaces_the_schedule_and_keeps_its_creation_time(store, clock):
    schedule_id = new_id()
    put_every_minute(store, schedule_id)
    created = store.get(schedule_id).created_at_ms
    clock.advance(120)
    store.put(
        schedule_id, cron="0 2 * * *", expression="cron(0 2 * * ? *)", timezone="UTC", template=template("v2")
    )
    got = store.get(schedule_id)
    assert (got.cron, got.expression, got.template.body) == ("0 2 * * *", "cron(0 2 * * ? *)", "v2")
    assert got.created_at_ms == created
    assert store.ids().count(schedule_id) == 1


def test_pause_and_resume_change_only_the_pause_flag(store):
    schedule_id = new_id()
    put_every_minute(store, schedule_id)
    before = store.get(schedule_id)
    assert store.set_paused(schedule_id, True) is True
    paused = store.get(schedule_id)
    assert paused.paused is True
    assert (paused.cron, paused.expression, paused.template) == (
        before.cron,
        before.expression,
        before.template,
    )
    assert store.set_paused(schedule_id, False) is True
    assert store.get(schedule_id).paused is False


def test_a_schedule_put_paused_is_read_back_paused(store):
    schedule_id = new_id()
    put_every_minute(store, schedule_id, paused=True)
    assert store.get(schedule_id).paused is True


def test_a_cron_restricting_both_days_keeps_its_second_schedule_out_of_the_listing(store):
    schedule_id = new_id()
    second = SecondSchedule(expression="cron(0 9 ? * MON *)", template=template("second"))
    store.put(
        schedule_id, cron="0 9 1 * 1", expression="cron(0 9 1 * ? *)", timezone="UTC",
        template=template("first"), second=second,
    )  # fmt: skip
    got = store.get(schedule_id)
    assert got.second == second
    assert [i for i in store.ids() if i.startswith(schedule_id)] == [schedule_id]
    assert store.set_paused(schedule_id, True) and store.get(schedule_id).second == second

    # Replaced by a cron that needs one schedule: the second one goes.
    put_every_minute(store, schedule_id)
    assert store.get(schedule_id).second is None


def test_delete_removes_the_schedule_and_its_second_and_lists_the_rest_sorted(store):
    first, second, third = sorted(new_id() for _ in range(3))
    for schedule_id in (third, first, second):
        put_every_minute(store, schedule_id)
    store.put(
        second, cron="0 9 1 * 1", expression="cron(0 9 1 * ? *)", timezone="UTC", template=template(),
        second=SecondSchedule(expression="cron(0 9 ? * MON *)", template=template()),
    )  # fmt: skip
    assert [i for i in store.ids() if i in (first, second, third)] == [first, second, third]
    assert store.delete(second) is True
    assert store.get(second) is None
    assert store.delete(second) is False
    assert [i for i in store.ids() if i in (first, second, third)] == [first, third]
