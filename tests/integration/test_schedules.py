"""Schedules through the official qstash SDK against `ferry dev`: every firing is a real EventBridge
Scheduler schedule in the emulator, fired by the dev ticker, delivered as a normal message."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import time
import urllib.request

import pytest
from qstash.errors import QStashError
from qstash.schedule import ScheduleState

from tests.support.waiting import wait_until

pytestmark = pytest.mark.integration


@pytest.fixture
def schedule_ids(qstash):
    created: list[str] = []
    yield created
    for schedule_id in created:
        with contextlib.suppress(QStashError):
            qstash.schedule.delete(schedule_id)


def seconds_to_next_minute(clock) -> float:
    now = clock.now()
    return 60 - (now % 60)


def just_before_a_minute(clock) -> float:
    """How far to move the clock so that a minute boundary is two real seconds away: the ticker
    then sees time cross it as it would in production (a jump backwards only resets the ticker)."""
    ahead = seconds_to_next_minute(clock) - 2
    return ahead if ahead > 0 else ahead + 60


def test_create_get_list_pause_resume_delete(stack, target, path, qstash, services, schedule_ids):
    schedule_id = qstash.schedule.create(
        destination=target.url(path),
        cron="CRON_TZ=Europe/Berlin 30 9 * * MON-FRI",
        body="report",
        headers={"X-Kind": "daily"},
        retries=2,
        label="reports",
    )
    schedule_ids.append(schedule_id)
    assert schedule_id.startswith("scd_")

    schedule = qstash.schedule.get(schedule_id)
    assert schedule.cron == "CRON_TZ=Europe/Berlin 30 9 * * MON-FRI"
    assert schedule.destination == target.url(path)
    assert schedule.body == "report" and schedule.retries == 2 and not schedule.paused
    assert schedule.headers["X-Kind"] == ["daily"]
    berlin = dt.datetime.fromtimestamp(schedule.next_schedule_time / 1000, tz=dt.UTC).astimezone(
        dt.timezone(dt.timedelta(hours=1))
    )
    assert berlin.weekday() < 5

    aws = services.scheduler.get_schedule(GroupName="ferry-schedules", Name=schedule_id)
    assert aws["ScheduleExpression"] == "cron(30 9 ? * 2-6 *)"
    assert aws["ScheduleExpressionTimezone"] == "Europe/Berlin"
    assert aws["Target"]["DeadLetterConfig"]["Arn"].endswith("ferry-scheduler-dlq")
    assert aws["FlexibleTimeWindow"] == {"Mode": "OFF"}

    assert schedule_id in [s.schedule_id for s in qstash.schedule.list()]
    qstash.schedule.pause(schedule_id)
    assert qstash.schedule.get(schedule_id).paused
    assert (
        services.scheduler.get_schedule(GroupName="ferry-schedules", Name=schedule_id)["State"] == "DISABLED"
    )
    qstash.schedule.resume(schedule_id)
    assert not qstash.schedule.get(schedule_id).paused
    qstash.schedule.delete(schedule_id)
    with pytest.raises(QStashError, match="404"):
        qstash.schedule.get(schedule_id)


def test_same_schedule_id_replaces_the_whole_schedule(stack, target, path, qstash, schedule_ids):
    schedule_ids.append("nightly-" + path.strip("/")[-20:])
    qstash.schedule.create(
        destination=target.url(path), cron="0 1 * * *", body="v1", schedule_id=schedule_ids[0]
    )
    qstash.schedule.create(destination=target.url(path), cron="0 2 * * *", schedule_id=schedule_ids[0])
    schedule = qstash.schedule.get(schedule_ids[0])
    assert schedule.cron == "0 2 * * *" and schedule.body is None


def test_every_minute_schedule_fires_within_65_seconds_with_schedule_id(
    stack, target, path, qstash, services, schedule_ids
):
    schedule_id = qstash.schedule.create(destination=target.url(path), cron="* * * * *", body="tick")
    schedule_ids.append(schedule_id)
    [got] = target.wait_for(path, timeout=65)
    qstash.schedule.delete(schedule_id)
    assert got.body == b"tick"
    assert got.header("Upstash-Schedule-Id") == schedule_id
    message_id = got.header("Upstash-Message-Id")
    wait_until(
        lambda: (
            qstash.schedule.list() is not None
            and "DELIVERED" in [e.state for e in services.history.events(message_id)]
        ),
        what="the firing's history",
    )
    logs = qstash.log.list(filter={"schedule_id": schedule_id}).logs
    assert {log.message_id for log in logs} == {message_id}


def test_paused_schedule_does_not_fire_and_resumed_one_does(stack, target, path, qstash, clock, schedule_ids):
    schedule_id = qstash.schedule.create(destination=target.url(path), cron="* * * * *", body="x")
    schedule_ids.append(schedule_id)
    qstash.schedule.pause(schedule_id)
    with clock.advanced(seconds_to_next_minute(clock) + 61):
        time.sleep(3)  # several ticker rounds while two minute boundaries have passed
        assert target.requests_to(path) == []
        qstash.schedule.resume(schedule_id)
    with clock.advanced(just_before_a_minute(clock)):
        [got] = target.wait_for(path, timeout=20)
    qstash.schedule.delete(schedule_id)
    assert got.header("Upstash-Schedule-Id") == schedule_id


def test_schedule_reports_its_last_firing_and_state(
    stack, target, path, qstash, clock, services, schedule_ids
):
    schedule_id = qstash.schedule.create(destination=target.url(path), cron="* * * * *", body="x")
    schedule_ids.append(schedule_id)
    with clock.advanced(just_before_a_minute(clock)):
        [got] = target.wait_for(path, timeout=20)
        qstash.schedule.pause(schedule_id)
        message_id = got.header("Upstash-Message-Id")
        wait_until(
            lambda: "DELIVERED" in [e.state for e in services.history.events(message_id)], what="delivered"
        )
        schedule = qstash.schedule.get(schedule_id)
    assert schedule.last_schedule_states == {message_id: ScheduleState.SUCCESS}
    assert schedule.last_schedule_time is not None


@pytest.mark.parametrize(
    ("cron", "message"),
    [
        ("", "Upstash-Cron is required"),
        ("61 * * * *", "minute"),
        ("* * * *", "5"),
        ("0 0 1 * MON", "day-of-month"),
        ("CRON_TZ=Mars/Olympus 0 0 * * *", "Mars/Olympus"),
    ],
)
def test_invalid_or_inexpressible_cron_is_refused_with_a_clear_message(stack, target, path, cron, message):
    request = urllib.request.Request(
        stack.url + "/v2/schedules/" + target.url(path),
        data=b"x",
        method="POST",
        headers={"Authorization": f"Bearer {stack.secrets.api_token}", "Upstash-Cron": cron},
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)
    body = json.loads(refused.value.read())
    assert refused.value.code == 400
    assert message in body["error"]
    assert body["field"] == "Upstash-Cron"


def test_post_pause_works_for_an_id_that_starts_like_a_url(
    stack, target, path, qstash, services, schedule_ids
):
    schedule_id = qstash.schedule.create(
        destination=target.url(path), cron="0 0 1 1 *", schedule_id="httpjob-" + path.strip("/")[-20:]
    )
    schedule_ids.append(schedule_id)
    request = urllib.request.Request(
        f"{stack.url}/v2/schedules/{schedule_id}/pause",
        method="POST",
        data=b"",
        headers={"Authorization": f"Bearer {stack.secrets.api_token}"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200
    assert qstash.schedule.get(schedule_id).paused


def test_a_firing_carries_the_schedules_options_to_the_destination(
    stack, target, path, qstash, clock, services, schedule_ids
):
    from tests.support.target import Reply

    callback_path = path + "-callback"
    target.script(path, Reply(500), Reply(200))
    schedule_id = qstash.schedule.create(
        destination=target.url(path),
        cron="* * * * *",
        body="options",
        method="PUT",
        headers={"X-Kind": "tick"},
        retries=1,
        retry_delay="0",
        timeout="5s",
        callback=target.url(callback_path),
        label="sched-options",
    )
    schedule_ids.append(schedule_id)

    aws = services.scheduler.get_schedule(GroupName="ferry-schedules", Name=schedule_id)
    queue_arn = services.sqs.get_queue_attributes(
        QueueUrl=stack.environ["FERRY_QUEUE_URL"], AttributeNames=["QueueArn"]
    )["Attributes"]["QueueArn"]
    assert aws["Target"]["Arn"] == queue_arn, "a firing is put onto Ferry's own message queue"
    assert aws["Target"]["RetryPolicy"]["MaximumRetryAttempts"] >= 1

    with clock.advanced(just_before_a_minute(clock)):
        first, second = target.wait_for(path, count=2, timeout=30)
        qstash.schedule.pause(schedule_id)
        target.wait_for(callback_path, count=2, timeout=30)
    for got in (first, second):
        assert got.method == "PUT" and got.body == b"options" and got.header("X-Kind") == "tick"
        assert got.header("Upstash-Schedule-Id") == schedule_id
    assert (first.header("Upstash-Retried"), second.header("Upstash-Retried")) == ("0", "1")
    assert first.header("Upstash-Message-Id") == second.header("Upstash-Message-Id")
    statuses = [json.loads(c.body)["status"] for c in target.requests_to(callback_path)]
    assert statuses == [500, 200], "the callback reports every attempt"
    message = qstash.message.get(first.header("Upstash-Message-Id"))
    assert message.label == "sched-options"


def test_a_schedule_for_a_queue_fires_through_that_queue(
    stack, target, path, qstash, clock, services, schedule_ids
):
    queue = "sched-" + path.strip("/")[-30:]
    schedule_id = qstash.schedule.create(
        destination=target.url(path), cron="* * * * *", body="queued", queue=queue
    )
    schedule_ids.append(schedule_id)
    with clock.advanced(just_before_a_minute(clock)):
        [got] = target.wait_for(path, timeout=30)
        qstash.schedule.pause(schedule_id)
    assert got.header("Upstash-Schedule-Id") == schedule_id
    message_id = got.header("Upstash-Message-Id")
    wait_until(
        lambda: [e for e in services.history.events(message_id) if e.state == "DELIVERED"],
        what="delivered",
    )
    logs = qstash.log.list(filter={"queue": queue}).logs
    assert {log.message_id for log in logs} == {message_id}
    assert {log.queue for log in logs} == {queue}
