"""The second Scheduler schedule of a day-of-month OR day-of-week cron: its firings on an instant
the first schedule also fires are dropped before they become messages (docs/cron.md)."""

from __future__ import annotations

from ferry.adapters.memory.target import answers
from ferry.domain.cron import parse_cron
from ferry.domain.cron_aws import SCHEDULED_TIME, to_aws
from ferry.domain.delivery import AttemptResult
from ferry.domain.envelope import Envelope, SecondFiring
from ferry.usecases.delivery_pipeline import Outcome
from tests.support.twins import URL, World

OK = AttemptResult(status=200, body=b"fine")
# 09:00 on the 1st or on Mondays; 2029-01-01 is a Monday, 2029-01-08 one that is not the 1st.
SCHEDULE = to_aws(parse_cron("0 9 1 * MON"))


def second_schedule_firing(scheduled_time: str) -> Envelope:
    """The second schedule's template as EventBridge sends it, the scheduled time substituted."""
    assert SCHEDULE.second_expression is not None
    firing = SecondFiring(
        scheduled_time=scheduled_time, first_expression=SCHEDULE.expression, timezone=SCHEDULE.timezone
    )
    return Envelope(
        id="", destination=URL, created_at=0, not_before=0, max_retries=3, timeout=30,
        schedule_id="scd_either", second_firing=firing,
    )  # fmt: skip


def test_a_second_schedule_firing_on_an_instant_the_first_also_fires_is_dropped():
    world = World()
    world.target.route(URL, answers(OK))
    world.queue.send(second_schedule_firing("2029-01-01T09:00:00Z"), delay_seconds=0)
    [report] = world.dispatch()
    assert report.outcome is Outcome.DROPPED
    assert world.target.requests == []
    assert world.history.last_firing("scd_either") is None


def test_a_second_schedule_firing_on_a_day_only_it_matches_is_delivered_as_a_firing():
    world = World()
    world.target.route(URL, answers(OK))
    world.queue.send(second_schedule_firing("2029-01-08T09:00:00Z"), delay_seconds=0)
    [report] = world.dispatch()
    assert report.outcome is Outcome.DELIVERED
    [request] = world.target.requests
    assert request.headers["Upstash-Schedule-Id"] == "scd_either"
    [fired_id, _] = world.history.last_firing("scd_either")
    assert request.headers["Upstash-Message-Id"] == fired_id


def test_a_firing_whose_scheduled_time_was_not_substituted_is_delivered_not_lost():
    world = World()
    world.target.route(URL, answers(OK))
    world.queue.send(second_schedule_firing(SCHEDULED_TIME), delay_seconds=0)
    [report] = world.dispatch()
    assert report.outcome is Outcome.DELIVERED
