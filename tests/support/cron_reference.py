"""croniter as the reference for unix cron semantics (tests only: the runtime does not use it).

`unix_fire_times` lists the instants at which unix cron fires as croniter computes them, in the
schedule's time zone. At DST transitions croniter differs from EventBridge Scheduler: for a
wall-clock time skipped by spring-forward it may fire at the end of the gap, and for a repeated
wall-clock time it fires at both occurrences. What EventBridge will actually do is
`to_aws(cron).fire_times(start, end)`.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from croniter import croniter
from croniter.croniter import CroniterError

from ferry.domain.cron import UnixCron
from ferry.domain.cron_aws_evaluator import as_utc


def unix_fire_times(cron: UnixCron, start: datetime, end: datetime) -> Iterator[datetime]:
    """The instants in `[start, end)` at which croniter fires `cron`, ascending, as UTC datetimes."""
    start_utc, end_utc = as_utc(start, "start"), as_utc(end, "end")
    zone = ZoneInfo(cron.timezone)
    iterator = croniter(
        cron.expression, (start_utc - timedelta(minutes=1)).astimezone(zone), ret_type=datetime
    )
    return _instants(iterator, start_utc, end_utc)


def _instants(iterator: croniter, start_utc: datetime, end_utc: datetime) -> Iterator[datetime]:
    while True:
        try:
            instant = iterator.get_next().astimezone(UTC)
        except CroniterError:
            return
        if instant >= end_utc:
            return
        if instant >= start_utc:
            yield instant
