"""EventBridgeSchedules: user schedules as real EventBridge Scheduler schedules in Ferry's group.

The schedule itself is the store (no copy in DynamoDB): its target input is the message template
(an envelope without an id), its Description the `Upstash-Cron` text, its State the pause flag.
The target is the standard message queue; each firing is one SQS message, which the dispatcher
turns into a normal message with its own id.

A cron restricting both day fields runs on two Scheduler schedules (docs/cron.md): the first is
named by the schedule id, the second by `second_name` (with `..`, which schedule ids may not
contain, so it never collides with one). Every operation acts on both; listings show the first.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

from ferry.adapters.scheduler import sqs_target
from ferry.domain.cron import parse_cron
from ferry.domain.envelope import Envelope
from ferry.domain.errors import InvalidInput
from ferry.usecases.schedules import SecondSchedule, StoredSchedule

SECOND_MARK = ".."
_NAME_LIMIT = 64  # EventBridge Scheduler's Name: 1-64 characters of [0-9a-zA-Z-_.]


def second_name(schedule_id: str) -> str:
    """The Scheduler name of a schedule's second (day-of-week) schedule: readable when it fits."""
    name = schedule_id + SECOND_MARK + "dow"
    if len(name) <= _NAME_LIMIT:
        return name
    digest = hashlib.sha256(schedule_id.encode()).hexdigest()[:24]
    return schedule_id[: _NAME_LIMIT - len(SECOND_MARK) - len(digest)] + SECOND_MARK + digest


class EventBridgeSchedules:
    def __init__(self, client: Any, *, group: str, role_arn: str, queue_arn: str, dlq_arn: str) -> None:
        self._scheduler = client
        self._group = group
        self._role_arn = role_arn
        self._queue_arn = queue_arn
        self._dlq_arn = dlq_arn

    def _params(
        self, name: str, cron: str, expression: str, timezone: str, template: Envelope, paused: bool
    ) -> dict[str, Any]:
        target = sqs_target(
            queue_arn=self._queue_arn,
            role_arn=self._role_arn,
            payload=template.to_json(),
            dlq_arn=self._dlq_arn,
            max_event_age_seconds=3_600,
            max_attempts=20,
        )
        return {
            "Name": name,
            "GroupName": self._group,
            "ScheduleExpression": expression,
            "ScheduleExpressionTimezone": timezone,
            "FlexibleTimeWindow": {"Mode": "OFF"},
            "State": "DISABLED" if paused else "ENABLED",
            # parse_cron refuses more than Description's 512 characters; never cut here.
            "Description": cron,
            "Target": target,
        }

    def _upsert(self, params: dict[str, Any]) -> None:
        try:
            self._scheduler.update_schedule(**params)
        except self._scheduler.exceptions.ResourceNotFoundException:
            self._scheduler.create_schedule(**params)

    def _delete(self, name: str) -> bool:
        try:
            self._scheduler.delete_schedule(GroupName=self._group, Name=name)
            return True
        except self._scheduler.exceptions.ResourceNotFoundException:
            return False

    def put(
        self,
        schedule_id: str,
        *,
        cron: str,
        expression: str,
        timezone: str,
        template: Envelope,
        paused: bool = False,
        second: SecondSchedule | None = None,
    ) -> None:
        # The second schedule first: a firing of the first alone is never a duplicate, so a crash
        # between the two calls leaves a schedule that fires less, never twice.
        if second is not None:
            self._upsert(
                self._params(
                    second_name(schedule_id), cron, second.expression, timezone, second.template, paused
                )
            )
        self._upsert(self._params(schedule_id, cron, expression, timezone, template, paused))
        if second is None:
            self._delete(second_name(schedule_id))  # replaced by a cron that needs one schedule

    def _raw(self, name: str) -> dict[str, Any] | None:
        try:
            return self._scheduler.get_schedule(GroupName=self._group, Name=name)
        except self._scheduler.exceptions.ResourceNotFoundException:
            return None

    def get(self, schedule_id: str) -> StoredSchedule | None:
        raw = self._raw(schedule_id)
        if raw is None:
            return None
        created = raw.get("CreationDate")
        created_ms = int(created.timestamp() * 1000) if isinstance(created, dt.datetime) else 0
        cron = raw.get("Description", "")
        second = None
        if _has_second(cron):
            raw_second = self._raw(second_name(schedule_id))
            if raw_second is not None:
                second = SecondSchedule(
                    expression=raw_second["ScheduleExpression"],
                    template=Envelope.from_json(raw_second["Target"]["Input"]),
                )
        return StoredSchedule(
            schedule_id=raw["Name"],
            cron=cron,
            expression=raw["ScheduleExpression"],
            timezone=raw.get("ScheduleExpressionTimezone") or "UTC",
            template=Envelope.from_json(raw["Target"]["Input"]),
            paused=raw.get("State") == "DISABLED",
            created_at_ms=created_ms,
            second=second,
        )

    def set_paused(self, schedule_id: str, paused: bool) -> bool:
        stored = self.get(schedule_id)
        if stored is None:
            return False
        self.put(
            stored.schedule_id,
            cron=stored.cron,
            expression=stored.expression,
            timezone=stored.timezone,
            template=stored.template,
            paused=paused,
            second=stored.second,
        )
        return True

    def delete(self, schedule_id: str) -> bool:
        self._delete(second_name(schedule_id))
        return self._delete(schedule_id)

    def ids(self) -> list[str]:
        names: list[str] = []
        kwargs: dict[str, Any] = {"GroupName": self._group}
        while True:
            response = self._scheduler.list_schedules(**kwargs)
            names.extend(s["Name"] for s in response.get("Schedules", []) if SECOND_MARK not in s["Name"])
            if not response.get("NextToken"):
                return sorted(names)
            kwargs["NextToken"] = response["NextToken"]


def _has_second(cron: str) -> bool:
    """Whether the stored cron text restricts both day fields (only then is there a second schedule)."""
    try:
        parsed = parse_cron(cron)
    except InvalidInput:
        return False
    return parsed.day_of_month_restricted and parsed.day_of_week_restricted
