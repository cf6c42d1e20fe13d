"""Schedules: QStash-compatible cron schedules on EventBridge Scheduler.

A schedule is stored as a message template (an envelope without an id) in the target of a real
EventBridge Scheduler schedule. Every firing puts that template on the message queue; the
dispatcher gives it an id of its own (`materialize`) and from there it is a normal message:
history, retries, DLQ, `Upstash-Schedule-Id` at the destination.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from ferry.domain.cron import parse_cron
from ferry.domain.cron_aws import SCHEDULED_TIME, AwsSchedule, to_aws
from ferry.domain.destination import is_url
from ferry.domain.envelope import Envelope, SecondFiring
from ferry.domain.errors import InvalidInput, NotFound, PayloadTooLarge
from ferry.domain.limits import Limits
from ferry.domain.publish_request import HeaderView, parse_publish
from ferry.domain.queues import check_queue_name
from ferry.domain.url_groups import check_group_name
from ferry.usecases.ports import Clock

SCHEDULE_ID = re.compile(r"^[A-Za-z0-9._\-]{1,64}$")
# Reserved: the store names a schedule's second Scheduler schedule with it (adapters/schedules.py).
RESERVED_IN_SCHEDULE_ID = ".."
# EventBridge Scheduler keeps the template in the target input; keep it well inside its limits.
MAX_TEMPLATE_BYTES = 200_000
# Headers that make no sense for a recurring schedule: refused rather than silently ignored.
NOT_FOR_SCHEDULES = ("Upstash-Not-Before", "Upstash-Deduplication-Id", "Upstash-Content-Based-Deduplication")


def new_schedule_id() -> str:
    return "scd_" + secrets.token_hex(12)


@dataclass(frozen=True)
class SecondSchedule:
    """The day-of-week Scheduler schedule of a cron restricting both day fields (docs/cron.md)."""

    expression: str
    template: Envelope


@dataclass(frozen=True)
class StoredSchedule:
    """A schedule as the store keeps it: what `put` was given, the pause flag and when it was
    first created (a replacing `put` keeps that)."""

    schedule_id: str
    cron: str
    expression: str
    timezone: str
    template: Envelope
    paused: bool
    created_at_ms: int
    second: SecondSchedule | None = None


class ScheduleStore(Protocol):
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
    ) -> None: ...

    def get(self, schedule_id: str) -> StoredSchedule | None: ...

    def set_paused(self, schedule_id: str, paused: bool) -> bool: ...

    def delete(self, schedule_id: str) -> bool: ...

    def ids(self) -> list[str]: ...


class UrlGroupLookup(Protocol):
    def get(self, name: str) -> Any:
        """The group, or `NotFound`."""
        ...


class ScheduleFirings(Protocol):
    def last_firing(self, schedule_id: str) -> tuple[str, int] | None: ...

    def state(self, message_id: str) -> str | None: ...


@dataclass(frozen=True)
class ScheduleView:
    schedule_id: str
    cron: str
    template: Envelope
    paused: bool
    created_at_ms: int
    aws: AwsSchedule
    next_fire_ms: list[int]
    last_fire_ms: int | None
    last_states: dict[str, str]


_FIRING_STATES = {"DELIVERED": "SUCCESS", "FAILED": "FAIL", "CANCELED": "FAIL"}


class Schedules:
    def __init__(
        self,
        *,
        store: ScheduleStore,
        firings: ScheduleFirings,
        clock: Clock,
        limits: Limits,
        allow_private_destinations: bool,
        url_groups: UrlGroupLookup | None = None,
    ) -> None:
        self._url_groups = url_groups
        self._store = store
        self._firings = firings
        self._clock = clock
        self._limits = limits
        self._allow_private = allow_private_destinations

    def create(
        self, *, destination: str, headers: Mapping[str, str], body: bytes, caller_ip: str | None = None
    ) -> str:
        h = HeaderView(headers)
        cron_text = h.get("Upstash-Cron")
        if not cron_text:
            raise InvalidInput(
                "Upstash-Cron is required: a 5-field cron expression such as '*/5 * * * *', optionally "
                "prefixed with CRON_TZ=Area/City",
                field="Upstash-Cron",
            )
        cron = parse_cron(cron_text)
        aws = to_aws(cron)
        for name in NOT_FOR_SCHEDULES:
            if h.get(name):
                raise InvalidInput(f"{name} does not apply to schedules; leave it out", field=name)
        schedule_id = h.get("Upstash-Schedule-Id") or new_schedule_id()
        if not _could_exist(schedule_id):
            raise InvalidInput(
                f"Upstash-Schedule-Id: {schedule_id!r} may only contain letters, digits, '-', '_' and '.' "
                "(at most 64, no '..')",
                field="Upstash-Schedule-Id",
            )
        queue = h.get("Upstash-Queue-Name") or None
        if queue is not None:
            check_queue_name(queue, field="Upstash-Queue-Name")
        url_group = None
        if not is_url(destination):
            url_group = check_group_name(destination)
            destination = ""
            if self._url_groups is not None:
                self._url_groups.get(url_group)  # 404 for an unknown group, as publishing to it is
        plan = parse_publish(
            destination=destination,
            headers=headers,
            body=body,
            message_id="",
            now_ms=0,
            limits=self._limits,
            allow_private=self._allow_private,
            caller_ip=caller_ip,
            queue=queue,
            for_schedule=True,
            url_group=url_group,
        )
        # The template's times are relative: created_at 0, not_before = the delay of each firing.
        template = plan.envelope.model_copy(update={"schedule_id": schedule_id})
        if len(template.to_json().encode()) > MAX_TEMPLATE_BYTES:
            raise PayloadTooLarge(
                f"a schedule's body and headers may take at most {MAX_TEMPLATE_BYTES} bytes", field="body"
            )
        second = None
        if aws.second_expression is not None:
            firing = SecondFiring(
                scheduled_time=SCHEDULED_TIME, first_expression=aws.expression, timezone=aws.timezone
            )
            second = SecondSchedule(
                expression=aws.second_expression,
                template=template.model_copy(update={"second_firing": firing}),
            )
        self._store.put(
            schedule_id,
            cron=cron.text,
            expression=aws.expression,
            timezone=aws.timezone,
            template=template,
            second=second,
        )
        return schedule_id

    def get(self, schedule_id: str) -> ScheduleView:
        stored = self._store.get(schedule_id) if _could_exist(schedule_id) else None
        if stored is None:
            raise NotFound(f"schedule {schedule_id!r} not found")
        second = stored.second
        aws = AwsSchedule(stored.expression, stored.timezone, second.expression if second else None)
        now = dt.datetime.fromtimestamp(self._clock.now(), tz=dt.UTC)
        upcoming = [] if stored.paused else aws.next_fire_times(now, 5)
        last = self._firings.last_firing(schedule_id)
        last_states: dict[str, str] = {}
        if last is not None:
            state = self._firings.state(last[0])
            last_states[last[0]] = _FIRING_STATES.get(state or "", "IN_PROGRESS")
        return ScheduleView(
            schedule_id=stored.schedule_id,
            cron=stored.cron,
            template=stored.template,
            paused=stored.paused,
            created_at_ms=stored.created_at_ms,
            aws=aws,
            next_fire_ms=[int(t.timestamp() * 1000) for t in upcoming],
            last_fire_ms=last[1] if last else None,
            last_states=last_states,
        )

    def list(self) -> list[ScheduleView]:
        views = []
        for schedule_id in self._store.ids():
            try:
                views.append(self.get(schedule_id))
            except NotFound:  # deleted between list and get
                continue
        return views

    def pause(self, schedule_id: str) -> None:
        if not _could_exist(schedule_id) or not self._store.set_paused(schedule_id, True):
            raise NotFound(f"schedule {schedule_id!r} not found")

    def resume(self, schedule_id: str) -> None:
        if not _could_exist(schedule_id) or not self._store.set_paused(schedule_id, False):
            raise NotFound(f"schedule {schedule_id!r} not found")

    def delete(self, schedule_id: str) -> None:
        """Idempotent, as QStash answers (200 whether or not the schedule exists; see
        docs/compatibility.md "Deletes")."""
        if _could_exist(schedule_id):
            self._store.delete(schedule_id)


def _could_exist(schedule_id: str) -> bool:
    """Whether a schedule could have this id: others (such as the `..` names of second Scheduler
    schedules) are never looked up, so a second schedule cannot be read or deleted on its own."""
    return bool(SCHEDULE_ID.fullmatch(schedule_id)) and RESERVED_IN_SCHEDULE_ID not in schedule_id
