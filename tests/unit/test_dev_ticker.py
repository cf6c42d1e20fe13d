"""`ferry dev`'s stand-in for Scheduler's clock reads each schedule once and again only when it
changed: a thousand delayed messages (one-time schedules) made a thousand GetSchedule calls a
second, an idle `ferry dev` at 64 % of a core."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from ferry.dev.ticker import UNIVERSAL_SQS_SEND, SchedulerTicker

NOW = dt.datetime(2026, 12, 3, 12, 0, tzinfo=dt.UTC)
ROLE = "arn:aws:iam::123456789012:role/scheduler"


@pytest.fixture
def aws(request: pytest.FixtureRequest) -> Iterator[tuple[Any, Any, str, str]]:
    with mock_aws():
        scheduler = boto3.client("scheduler", region_name="us-east-1")
        sqs = boto3.client("sqs", region_name="us-east-1")
        name = "ticker-" + request.node.name[-50:].replace("_", "-")
        scheduler.create_schedule_group(Name=name)
        url = sqs.create_queue(QueueName=name)["QueueUrl"]
        yield scheduler, sqs, name, url


def _at(when: dt.datetime) -> str:
    return f"at({when.strftime('%Y-%m-%dT%H:%M:%S')})"


def _schedule(scheduler: Any, group: str, name: str, url: str, when: dt.datetime, body: str, *, update=False):
    call = scheduler.update_schedule if update else scheduler.create_schedule
    call(
        GroupName=group,
        Name=name,
        ScheduleExpression=_at(when),
        FlexibleTimeWindow={"Mode": "OFF"},
        ActionAfterCompletion="DELETE",
        State="ENABLED",  # moto's UpdateSchedule leaves no state otherwise
        Target={
            "Arn": UNIVERSAL_SQS_SEND,
            "RoleArn": ROLE,
            "Input": json.dumps({"QueueUrl": url, "MessageBody": body}),
        },
    )


def _reads(scheduler: Any) -> list[str]:
    names: list[str] = []
    scheduler.meta.events.register(
        "provide-client-params.scheduler.GetSchedule", lambda params, **_: names.append(params["Name"])
    )
    return names


def _bodies(sqs: Any, url: str) -> list[str]:
    return [m["Body"] for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])]


def test_a_tick_reads_again_only_the_schedules_changed_since_the_last(aws):
    scheduler, sqs, group, url = aws
    for n in range(3):
        _schedule(scheduler, group, f"later-{n}", url, NOW + dt.timedelta(hours=1), f"body-{n}")
    ticker = SchedulerTicker(scheduler, sqs, groups=[group], now=NOW.timestamp)
    reads = _reads(scheduler)

    assert ticker.tick() == 0
    assert sorted(reads) == ["later-0", "later-1", "later-2"]
    reads.clear()
    assert ticker.tick() == 0
    assert reads == []

    _schedule(scheduler, group, "later-1", url, NOW + dt.timedelta(hours=2), "body-1", update=True)
    assert ticker.tick() == 0
    assert reads == ["later-1"]


def test_a_schedule_changed_after_it_was_read_fires_as_changed(aws):
    scheduler, sqs, group, url = aws
    _schedule(scheduler, group, "moved", url, NOW + dt.timedelta(hours=1), "as created")
    ticker = SchedulerTicker(scheduler, sqs, groups=[group], now=NOW.timestamp)
    assert ticker.tick() == 0

    _schedule(scheduler, group, "moved", url, NOW - dt.timedelta(seconds=1), "as updated", update=True)
    assert ticker.tick() == 1
    assert _bodies(sqs, url) == ["as updated"]
    assert scheduler.list_schedules(GroupName=group)["Schedules"] == []  # deleted after firing
    assert ticker.tick() == 0
