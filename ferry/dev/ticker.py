"""A stand-in for EventBridge Scheduler's clock: reads the schedules from the emulated Scheduler
API and, when one is due, invokes its target exactly as Scheduler would (an SQS SendMessage with
the target's input). There is no separate schedule store: what the Scheduler API holds is the truth.

One-time `at()` schedules fire once and are deleted when ActionAfterCompletion is DELETE.
Recurring `cron()` schedules fire at the instants `cron_fire_times` computes (plugged in by the
schedules feature, which owns the AWS-cron evaluator), each firing on its own: the two Scheduler
schedules of a day-of-month OR day-of-week cron both fire, as in AWS.

Like Scheduler, the ticker replaces the context attributes (`<aws.scheduler.scheduled-time>` and
the others) in the target input with the values of the invocation.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import logging
import secrets
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

log = logging.getLogger("ferry.dev")
UNIVERSAL_SQS_SEND = "arn:aws:scheduler:::aws-sdk:sqs:sendMessage"

# (schedule expression, timezone, after, until) -> fire instants in (after, until]
CronFireTimes = Callable[[str, str, dt.datetime, dt.datetime], Iterable[dt.datetime]]


def with_context(target: dict[str, Any], *, arn: str, scheduled: dt.datetime) -> dict[str, Any]:
    """The target with Scheduler's context attributes in its input replaced for one invocation."""
    text = target.get("Input")
    if not text or "<aws.scheduler." not in text:
        return target
    values = {
        "schedule-arn": arn,
        "scheduled-time": scheduled.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "execution-id": secrets.token_hex(8),
        "attempt-number": "1",
    }
    for name, value in values.items():
        text = text.replace(f"<aws.scheduler.{name}>", value)
    return {**target, "Input": text}


@functools.lru_cache(maxsize=4096)  # each tick reads every one-time schedule's instant again
def parse_at(expression: str) -> dt.datetime | None:
    if not expression.startswith("at(") or not expression.endswith(")"):
        return None
    return dt.datetime.strptime(expression[3:-1], "%Y-%m-%dT%H:%M:%S")


class SchedulerTicker:
    def __init__(
        self,
        scheduler: Any,
        sqs: Any,
        *,
        groups: list[str],
        interval: float = 1.0,
        cron_fire_times: CronFireTimes | None = None,
        now: Callable[[], float] = time.time,
    ) -> None:
        self._scheduler = scheduler
        self._sqs = sqs
        self._groups = groups
        self._interval = interval
        self._cron_fire_times = cron_fire_times
        self._now = now
        self._last_tick = dt.datetime.fromtimestamp(now(), tz=dt.UTC)
        # Each schedule as GetSchedule last answered, with the LastModificationDate it had then:
        # ListSchedules names the schedules but not their expressions and targets, and a
        # GetSchedule for each of them every second (a thousand delayed messages are a thousand
        # one-time schedules) kept an idle `ferry dev` at 64 % of a core. A schedule is read
        # again when it was changed (UpdateSchedule sets a new LastModificationDate).
        self._read: dict[tuple[str, str], tuple[Any, dict[str, Any]]] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="scheduler-ticker", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self.tick()
            except Exception:
                log.exception("scheduler ticker error")

    def tick(self) -> int:
        now = dt.datetime.fromtimestamp(self._now(), tz=dt.UTC)
        since, self._last_tick = self._last_tick, now
        fired = 0
        listed: set[tuple[str, str]] = set()
        for group in self._groups:
            for summary in self._list(group):
                listed.add((group, summary["Name"]))
                if summary.get("State") != "ENABLED":
                    continue
                fired += self._maybe_fire(group, self._schedule(group, summary), since, now)
        for gone in self._read.keys() - listed:
            del self._read[gone]
        return fired

    def _schedule(self, group: str, summary: dict[str, Any]) -> dict[str, Any]:
        key, modified = (group, summary["Name"]), summary.get("LastModificationDate")
        read = self._read.get(key)
        if read is not None and modified is not None and read[0] == modified:
            return read[1]
        schedule = self._scheduler.get_schedule(GroupName=group, Name=summary["Name"])
        self._read[key] = (modified, schedule)
        return schedule

    def _list(self, group: str) -> list[dict[str, Any]]:
        schedules: list[dict[str, Any]] = []
        # Scheduler's largest page: moto finds each page's start by listing the group again.
        kwargs: dict[str, Any] = {"GroupName": group, "MaxResults": 100}
        while True:
            response = self._scheduler.list_schedules(**kwargs)
            schedules.extend(response.get("Schedules", []))
            if not response.get("NextToken"):
                return schedules
            kwargs["NextToken"] = response["NextToken"]

    def _maybe_fire(self, group: str, schedule: dict[str, Any], since: dt.datetime, now: dt.datetime) -> int:
        expression = schedule["ScheduleExpression"]
        at = parse_at(expression)
        if at is not None:
            # at() is in ScheduleExpressionTimezone; Ferry always writes UTC.
            if at.replace(tzinfo=dt.UTC) > now:
                return 0
            self._invoke(
                with_context(
                    schedule["Target"], arn=schedule.get("Arn", ""), scheduled=at.replace(tzinfo=dt.UTC)
                )
            )
            if schedule.get("ActionAfterCompletion") == "DELETE":
                self._scheduler.delete_schedule(GroupName=group, Name=schedule["Name"])
            return 1
        if expression.startswith("cron(") and self._cron_fire_times is not None:
            timezone = schedule.get("ScheduleExpressionTimezone") or "UTC"
            instants = list(self._cron_fire_times(expression, timezone, since, now))
            for instant in instants:
                self._invoke(with_context(schedule["Target"], arn=schedule.get("Arn", ""), scheduled=instant))
            return len(instants)
        return 0

    def _invoke(self, target: dict[str, Any]) -> None:
        arn = target["Arn"]
        if arn == UNIVERSAL_SQS_SEND:
            self._sqs.send_message(**json.loads(target["Input"]))
            return
        if arn.startswith("arn:aws:sqs:"):
            name = arn.rsplit(":", 1)[-1]
            url = self._sqs.get_queue_url(QueueName=name)["QueueUrl"]
            params: dict[str, Any] = {"QueueUrl": url, "MessageBody": target.get("Input") or ""}
            group_id = (target.get("SqsParameters") or {}).get("MessageGroupId")
            if group_id:
                params["MessageGroupId"] = group_id
            self._sqs.send_message(**params)
            return
        log.warning("scheduler ticker: target %s is not emulated", arn)
