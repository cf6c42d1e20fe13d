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

from tests.support.pending import settled
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
    qstash.schedule.delete(schedule_id)  # idempotent: 200 for a schedule that is gone


def test_same_schedule_id_replaces_the_whole_schedule(stack, target, path, qstash, schedule_ids):
    schedule_ids.append("nightly-" + path.strip("/")[-20:])
    qstash.schedule.create(
        destination=target.url(path), cron="0 1 * * *", body="v1", schedule_id=schedule_ids[0]
    )
    qstash.schedule.create(destination=target.url(path), cron="0 2 * * *", schedule_id=schedule_ids[0])
    schedule = qstash.schedule.get(schedule_ids[0])
    assert schedule.cron == "0 2 * * *" and schedule.body is None


def test_every_minute_schedule_fires_within_65_seconds_with_schedule_id(
    stack, target, path, qstash, services, clock, schedule_ids
):
    schedule_id = qstash.schedule.create(destination=target.url(path), cron="* * * * *", body="tick")
    schedule_ids.append(schedule_id)
    # Within 65 s of the stack's clock, most of them skipped: the clock moves to two seconds before
    # the next minute (at most 58 s ahead), the rest is real time (at least 7 s).
    ahead = just_before_a_minute(clock)
    with clock.advanced(ahead):
        [got] = target.wait_for(path, timeout=65 - ahead)
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
        ("0 0 * * * " + "1" * 510, "512"),
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


def test_a_cron_restricting_both_day_fields_runs_on_two_scheduler_schedules_behind_one_id(
    stack, target, path, qstash, services, schedule_ids
):
    # The suite's "1 1 1 1 1": 01:01 on January 1st OR on every Monday in January.
    schedule_id = qstash.schedule.create(destination=target.url(path), cron="1 1 1 1 1", body="x")
    schedule_ids.append(schedule_id)
    names = [s["Name"] for s in services.scheduler.list_schedules(GroupName="ferry-schedules")["Schedules"]]
    second = schedule_id + "..dow"
    assert {schedule_id, second} <= set(names)
    first_aws = services.scheduler.get_schedule(GroupName="ferry-schedules", Name=schedule_id)
    second_aws = services.scheduler.get_schedule(GroupName="ferry-schedules", Name=second)
    assert first_aws["ScheduleExpression"] == "cron(1 1 1 1 ? *)"
    assert second_aws["ScheduleExpression"] == "cron(1 1 ? 1 2 *)"
    assert "<aws.scheduler.scheduled-time>" in second_aws["Target"]["Input"]

    schedule = qstash.schedule.get(schedule_id)
    assert schedule.cron == "1 1 1 1 1"
    assert [s.schedule_id for s in qstash.schedule.list()].count(schedule_id) == 1
    assert second not in [s.schedule_id for s in qstash.schedule.list()]
    body = json.loads(
        urllib.request.urlopen(
            urllib.request.Request(
                f"{stack.url}/v2/schedules/{schedule_id}",
                headers={"Authorization": f"Bearer {stack.secrets.api_token}"},
            ),
            timeout=10,
        ).read()
    )
    assert body["awsScheduleExpressions"] == ["cron(1 1 1 1 ? *)", "cron(1 1 ? 1 2 *)"]
    # Every January 1st and Monday in January, each once.
    times = [dt.datetime.fromtimestamp(t / 1000, tz=dt.UTC) for t in body["nextScheduleTimes"]]
    assert all(t.month == 1 and (t.day == 1 or t.weekday() == 0) for t in times)
    assert len(set(times)) == len(times)

    def states() -> set[str]:
        return {
            services.scheduler.get_schedule(GroupName="ferry-schedules", Name=n)["State"] for n in names_of
        }

    names_of = (schedule_id, second)
    with pytest.raises(QStashError, match="404"):
        qstash.schedule.get(second)  # the second schedule is no QStash schedule of its own
    qstash.schedule.delete(second)
    assert states() == {"ENABLED"}
    qstash.schedule.pause(schedule_id)
    assert qstash.schedule.get(schedule_id).paused and states() == {"DISABLED"}
    qstash.schedule.resume(schedule_id)
    assert not qstash.schedule.get(schedule_id).paused and states() == {"ENABLED"}
    qstash.schedule.delete(schedule_id)
    left = [s["Name"] for s in services.scheduler.list_schedules(GroupName="ferry-schedules")["Schedules"]]
    assert schedule_id not in left and second not in left


def test_replacing_a_two_schedule_cron_by_a_plain_one_removes_the_second(
    stack, target, path, qstash, services, schedule_ids
):
    schedule_id = "either-" + path.strip("/")[-20:]
    schedule_ids.append(schedule_id)
    qstash.schedule.create(destination=target.url(path), cron="0 0 1 * MON", schedule_id=schedule_id)
    qstash.schedule.create(destination=target.url(path), cron="0 0 1 * *", schedule_id=schedule_id)
    names = [s["Name"] for s in services.scheduler.list_schedules(GroupName="ferry-schedules")["Schedules"]]
    assert schedule_id in names and schedule_id + "..dow" not in names


def test_a_schedule_id_with_two_dots_is_refused(stack, target, path):
    request = urllib.request.Request(
        stack.url + "/v2/schedules/" + target.url(path),
        data=b"x",
        method="POST",
        headers={
            "Authorization": f"Bearer {stack.secrets.api_token}",
            "Upstash-Cron": "0 0 * * *",
            "Upstash-Schedule-Id": "a..dow",
        },
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)
    assert refused.value.code == 400
    assert json.loads(refused.value.read())["field"] == "Upstash-Schedule-Id"


def unix_weekday(moment: dt.datetime) -> int:
    return (moment.weekday() + 1) % 7  # unix: 0 = Sunday


@pytest.mark.parametrize("day", ["both", "weekday only"])
def test_a_day_matching_either_field_fires_each_minute_once(
    stack, target, path, qstash, clock, services, schedule_ids, day
):
    ahead = just_before_a_minute(clock)
    fire_day = dt.datetime.fromtimestamp(clock.now() + ahead + 2, tz=dt.UTC)
    # "both": today matches day-of-month and day-of-week (both Scheduler schedules fire, one is
    # dropped as a duplicate); "weekday only": only the day-of-week schedule fires today.
    day_of_month = fire_day.day if day == "both" else (fire_day.day % 28) + 1
    cron = f"* * {day_of_month} * {unix_weekday(fire_day)}"
    schedule_id = qstash.schedule.create(destination=target.url(path), cron=cron, body="either")
    schedule_ids.append(schedule_id)
    with clock.advanced(ahead):
        [got] = target.wait_for(path, timeout=20)
        qstash.schedule.pause(schedule_id)
        message_id = got.header("Upstash-Message-Id")
        wait_until(
            lambda: "DELIVERED" in [e.state for e in services.history.events(message_id)], what="delivered"
        )
        # Both Scheduler schedules fire in the same ticker round: the duplicate, if any, is queued
        # by now, and is dropped (or delivered) before the stack holds nothing for the path.
        received = settled(stack, target, path)
        schedule = qstash.schedule.get(schedule_id)
    assert len(received) == 1
    assert got.header("Upstash-Schedule-Id") == schedule_id
    assert schedule.last_schedule_states == {message_id: ScheduleState.SUCCESS}
