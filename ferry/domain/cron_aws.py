"""Unix cron to EventBridge Scheduler: `to_aws` and the `AwsSchedule` it produces.

The conversion is exact: the AWS schedule fires at the same instants as unix cron (croniter, the
reference in the tests), except at DST transitions where EventBridge Scheduler's documented rule
differs (see docs/cron.md).

A unix cron that restricts both day-of-month and day-of-week fires on days matching EITHER field.
One EventBridge expression allows only one day field, so such a cron becomes two Scheduler
schedules behind one QStash schedule id: `expression` (day-of-month) and `second_expression`
(day-of-week), same minutes, hours, months and zone. On a day matching both, both fire at the same
instants; the second schedule's firing is then a duplicate and the dispatcher drops it
(`is_duplicate_firing`, fed the instant EventBridge substitutes for `SCHEDULED_TIME`), so every
instant fires once, as in unix cron.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from ferry.domain.cron import DAYS_IN_MONTH, DEFAULT_TIMEZONE, UnixCron, refuse
from ferry.domain.cron_aws_evaluator import as_utc, aws_instants

# EventBridge Scheduler's CreateSchedule limit for ScheduleExpression: 1-256 characters.
AWS_EXPRESSION_MAX_LENGTH = 256
# The context attribute EventBridge Scheduler replaces, in the target input, with the instant the
# invocation was scheduled for (e.g. "2022-03-22T18:59:43Z"); `ferry dev`'s ticker does the same.
SCHEDULED_TIME = "<aws.scheduler.scheduled-time>"


@dataclass(frozen=True)
class AwsSchedule:
    """What EventBridge Scheduler runs for one QStash schedule: `expression` is the
    `ScheduleExpression` (`cron(minutes hours day-of-month month day-of-week year)`), `timezone`
    the `ScheduleExpressionTimezone` (an IANA name), and `second_expression` the day-of-week
    schedule of a day-of-month OR day-of-week cron (None otherwise).

    The fire times are those of both expressions, each instant once, evaluated by
    `ferry.domain.cron_aws_evaluator` (AWS syntax, EventBridge Scheduler's DST rule).
    """

    expression: str
    timezone: str = DEFAULT_TIMEZONE
    second_expression: str | None = None

    @property
    def expressions(self) -> tuple[str, ...]:
        if self.second_expression is None:
            return (self.expression,)
        return (self.expression, self.second_expression)

    def _instants(self, start_utc: datetime) -> Iterator[datetime]:
        merged = heapq.merge(*(aws_instants(e, self.timezone, start_utc) for e in self.expressions))
        return (instant for instant, _ in itertools.groupby(merged))

    def fire_times(self, start: datetime, end: datetime) -> Iterator[datetime]:
        """The instants in `[start, end)` at which the schedule fires, ascending, as UTC datetimes
        (lazily: take what you need with `itertools.islice`)."""
        start_utc, end_utc = as_utc(start, "start"), as_utc(end, "end")
        return itertools.takewhile(lambda instant: instant < end_utc, self._instants(start_utc))

    def next_fire_times(self, after: datetime, count: int) -> list[datetime]:
        """The next `count` instants strictly after `after` (fewer if the schedule ends, e.g. a year
        list in the past), ascending, as UTC datetimes."""
        if count < 0:
            raise ValueError("count must not be negative")
        after_utc = as_utc(after, "after")
        found: list[datetime] = []
        if count == 0:
            return found
        for instant in self._instants(after_utc):
            if instant > after_utc:
                found.append(instant)
                if len(found) == count:
                    break
        return found


def is_duplicate_firing(scheduled_time: str, first_expression: str, timezone: str) -> bool:
    """Whether a firing of a second (day-of-week) schedule, scheduled for `scheduled_time` (as
    EventBridge substitutes `SCHEDULED_TIME`), falls on an instant the first schedule also fires:
    unix cron fires once there, and the first schedule's firing is that one.

    A value that is not a time (the placeholder left unsubstituted) is not a duplicate: firing
    twice is better than never."""
    try:
        instant = datetime.fromisoformat(scheduled_time.replace("Z", "+00:00"))
    except ValueError:
        return False
    if instant.tzinfo is None:
        return False
    instant = instant.astimezone(UTC)
    first = next(aws_instants(first_expression, timezone, instant - timedelta(microseconds=1)), None)
    return first == instant


def to_aws(cron: UnixCron) -> AwsSchedule:
    """The EventBridge Scheduler schedule(s) that fire when `cron` does (see docs/cron.md).

    Field by field: the selected values are written out in AWS syntax (`*`, `a/n`, ranges `a-b`,
    lists); day-of-week is renumbered to AWS's 1-7 = SUN-SAT and never uses `/` (AWS documents no
    step for that field), so steps and `a-7` ranges become lists. The unrestricted day field
    becomes `?` (day-of-month `*` and day-of-week `?` when neither is restricted); the year is `*`.
    Both day fields restricted: two expressions (module docstring); when the day-of-month values
    never occur in the selected months, only the day-of-week one.

    A guard refuses expressions over EventBridge's 256-character limit, though none can reach it
    (the longest conversion is about 240 characters).
    """
    minute = _aws_field(cron.minutes, 0, 59)
    hour = _aws_field(cron.hours, 0, 23)
    month = _aws_field(cron.months, 1, 12)

    def expression(dom: str, dow: str) -> str:
        text = f"cron({minute} {hour} {dom} {month} {dow} *)"
        if len(text) > AWS_EXPRESSION_MAX_LENGTH:
            raise refuse(
                f"the schedule needs an EventBridge expression of {len(text)} characters, over the "
                f"{AWS_EXPRESSION_MAX_LENGTH}-character limit; use fewer separate values (ranges and steps "
                "are shorter)"
            )
        return text

    dow = _aws_field(frozenset(d + 1 for d in cron.days_of_week), 1, 7, steps=False)
    dom = _aws_field(cron.days_of_month, 1, 31)
    if cron.day_of_month_restricted and cron.day_of_week_restricted:
        by_week = expression("?", dow)
        if min(cron.days_of_month) > max(DAYS_IN_MONTH[m] for m in cron.months):
            return AwsSchedule(expression=by_week, timezone=cron.timezone)
        return AwsSchedule(expression=expression(dom, "?"), timezone=cron.timezone, second_expression=by_week)
    if cron.day_of_week_restricted:
        return AwsSchedule(expression=expression("?", dow), timezone=cron.timezone)
    return AwsSchedule(
        expression=expression(dom if cron.day_of_month_restricted else "*", "?"), timezone=cron.timezone
    )


def _aws_field(values: frozenset[int], low: int, high: int, *, steps: bool = True) -> str:
    """Write a set of values compactly in AWS syntax, selecting exactly `values`."""
    ordered = sorted(values)
    if len(ordered) == high - low + 1:
        return "*"
    if steps and len(ordered) >= 3:
        step = ordered[1] - ordered[0]
        progression = all(b - a == step for a, b in itertools.pairwise(ordered))
        # AWS "a/n" is a, a+n, ... up to the field's maximum: usable when the progression runs to the end.
        if progression and step > 1 and ordered[-1] + step > high:
            return f"{ordered[0]}/{step}"
    parts: list[str] = []
    run_start = previous = ordered[0]
    for value in [*ordered[1:], None]:
        if value is not None and value == previous + 1:
            previous = value
            continue
        if previous - run_start >= 2:
            parts.append(f"{run_start}-{previous}")
        else:
            parts.extend(str(v) for v in range(run_start, previous + 1))
        if value is not None:
            run_start = previous = value
    return ",".join(parts)
