"""EventBridgeSchedules: user schedules as real EventBridge Scheduler schedules in Ferry's group.

The schedule itself is the store (no copy in DynamoDB): its target input is the message template
(an envelope without an id), its Description the `Upstash-Cron` text, its State the pause flag.
The target is the standard message queue; each firing is one SQS message, which the dispatcher
turns into a normal message with its own id.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from ferry.adapters.scheduler import sqs_target
from ferry.domain.envelope import Envelope


@dataclass(frozen=True)
class StoredSchedule:
    schedule_id: str
    cron: str
    expression: str
    timezone: str
    template: Envelope
    paused: bool
    created_at_ms: int


class EventBridgeSchedules:
    def __init__(self, client: Any, *, group: str, role_arn: str, queue_arn: str, dlq_arn: str) -> None:
        self._scheduler = client
        self._group = group
        self._role_arn = role_arn
        self._queue_arn = queue_arn
        self._dlq_arn = dlq_arn

    def _params(
        self, schedule_id: str, cron: str, expression: str, timezone: str, template: Envelope, paused: bool
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
            "Name": schedule_id,
            "GroupName": self._group,
            "ScheduleExpression": expression,
            "ScheduleExpressionTimezone": timezone,
            "FlexibleTimeWindow": {"Mode": "OFF"},
            "State": "DISABLED" if paused else "ENABLED",
            "Description": cron[:512],
            "Target": target,
        }

    def put(
        self,
        schedule_id: str,
        *,
        cron: str,
        expression: str,
        timezone: str,
        template: Envelope,
        paused: bool = False,
    ) -> None:
        params = self._params(schedule_id, cron, expression, timezone, template, paused)
        try:
            self._scheduler.update_schedule(**params)
        except self._scheduler.exceptions.ResourceNotFoundException:
            self._scheduler.create_schedule(**params)

    def get(self, schedule_id: str) -> StoredSchedule | None:
        try:
            raw = self._scheduler.get_schedule(GroupName=self._group, Name=schedule_id)
        except self._scheduler.exceptions.ResourceNotFoundException:
            return None
        created = raw.get("CreationDate")
        created_ms = int(created.timestamp() * 1000) if isinstance(created, dt.datetime) else 0
        return StoredSchedule(
            schedule_id=raw["Name"],
            cron=raw.get("Description", ""),
            expression=raw["ScheduleExpression"],
            timezone=raw.get("ScheduleExpressionTimezone") or "UTC",
            template=Envelope.from_json(raw["Target"]["Input"]),
            paused=raw.get("State") == "DISABLED",
            created_at_ms=created_ms,
        )

    def set_paused(self, schedule_id: str, paused: bool) -> bool:
        stored = self.get(schedule_id)
        if stored is None:
            return False
        self._scheduler.update_schedule(
            **self._params(
                stored.schedule_id, stored.cron, stored.expression, stored.timezone, stored.template, paused
            )
        )
        return True

    def delete(self, schedule_id: str) -> bool:
        try:
            self._scheduler.delete_schedule(GroupName=self._group, Name=schedule_id)
            return True
        except self._scheduler.exceptions.ResourceNotFoundException:
            return False

    def ids(self) -> list[str]:
        names: list[str] = []
        kwargs: dict[str, Any] = {"GroupName": self._group}
        while True:
            response = self._scheduler.list_schedules(**kwargs)
            names.extend(s["Name"] for s in response.get("Schedules", []))
            if not response.get("NextToken"):
                return sorted(names)
            kwargs["NextToken"] = response["NextToken"]
