"""Flow-control limits as pure logic: slots are leases, rate is a sliding window, pause and
backpressure hold everything, and the latest message configures the key unless it is pinned."""

from __future__ import annotations

import pytest

from ferry.domain import flow_control as fc
from ferry.domain.errors import InvalidInput
from ferry.domain.flow_control import FlowControlValue, Lease, Wait


def state(**changes):
    from dataclasses import replace

    return replace(fc.new_state("fc", "k", 0), **changes)


def take(s, lease_id, now_ms, lease_ms=10_000):
    return fc.acquire(s, lease_id=lease_id, now_ms=now_ms, lease_ms=lease_ms)


def test_parallelism_caps_slots_and_a_release_frees_one():
    s = state(parallelism=2)
    a, s = take(s, "a", 0)
    b, s = take(s, "b", 0)
    c, s = take(s, "c", 0)
    assert isinstance(a, Lease) and isinstance(b, Lease)
    assert c == Wait("parallelism")
    s = fc.release(s, "a")
    assert isinstance(take(s, "c", 1)[0], Lease)


def test_a_lease_that_is_never_released_expires():
    s = state(parallelism=1)
    _, s = take(s, "crashed", 0, lease_ms=5_000)
    assert take(s, "next", 4_999)[0] == Wait("parallelism")
    assert isinstance(take(s, "next", 5_000)[0], Lease)


def test_asking_again_with_the_same_lease_id_is_granted_once():
    s = state(parallelism=1)
    _, s = take(s, "a", 0)
    again, s2 = take(s, "a", 1)
    assert isinstance(again, Lease) and len(s2.leases) == 1


def test_rate_is_a_sliding_window_of_starts():
    s = state(rate=3, period=1)
    for i, now in enumerate((0, 100, 900)):
        d, s = take(s, f"m{i}", now)
        assert isinstance(d, Lease)
    d, s = take(s, "m3", 950)
    assert d == Wait("rate", 0.05)  # the start at 0 leaves the window at 1000
    d, s = take(s, "m3", 1_000)
    assert isinstance(d, Lease)
    # Never more than 3 starts in any 1 s window: the next slot opens when the one at 100 leaves.
    assert take(s, "m4", 1_050)[0] == Wait("rate", 0.05)


def test_pause_and_backpressure_hold_everything():
    paused = fc.set_paused(state(), True, 0)
    assert take(paused, "a", 0)[0] == Wait("paused")
    blocked = fc.block(state(), until_ms=2_000)
    assert take(blocked, "a", 500)[0] == Wait("backpressure", 1.5)
    assert isinstance(take(blocked, "a", 2_000)[0], Lease)
    # A later, shorter block never shortens an earlier one.
    assert fc.block(blocked, until_ms=1_000).blocked_until_ms == 2_000


def test_the_latest_message_configures_the_key_unless_pinned():
    s = fc.configure(state(), FlowControlValue(parallelism=5, rate=10, period=60), 1)
    assert (s.parallelism, s.rate, s.period) == (5, 10, 60)
    s = fc.configure(s, FlowControlValue(parallelism=2), 2)
    assert (s.parallelism, s.rate, s.period) == (2, None, 1)
    s = fc.pin(s, parallelism=3, rate=20, period=120, now_ms=3)
    s = fc.configure(s, FlowControlValue(parallelism=9, rate=1, period=1), 4)
    assert (s.parallelism, s.rate, s.period) == (3, 20, 120)
    s = fc.unpin(s, parallelism=True, rate=False, now_ms=5)
    s = fc.configure(s, FlowControlValue(parallelism=9, rate=1, period=1), 6)
    assert (s.parallelism, s.rate, s.period, s.pinned_rate) == (9, 20, 120, True)


def test_pinning_and_reset_rate_start_a_new_period():
    s = state(rate=1, period=60)
    _, s = take(s, "a", 0)
    assert take(s, "b", 10)[0].reason == "rate"
    assert isinstance(take(fc.reset_rate(s, 20), "b", 20)[0], Lease)
    assert isinstance(take(fc.pin(s, parallelism=None, rate=1, period=None, now_ms=20), "b", 20)[0], Lease)


def test_a_held_message_backs_off_instead_of_polling():
    idle = state(parallelism=2)
    assert fc.hold_seconds(Wait("backpressure", 1.5), held_before=0, state=idle) == 1.5
    first = fc.hold_seconds(Wait("paused"), held_before=0, state=idle)
    later = fc.hold_seconds(Wait("paused"), held_before=4, state=idle)
    crowded = fc.hold_seconds(Wait("parallelism"), held_before=0, state=state(parallelism=2, waiting=1_000))
    assert first == 1 and later == 16 and crowded == fc.MAX_HOLD_SECONDS
    # A parked (paused queue) head backs off up to SQS's visibility limit; resume wakes it.
    assert fc.hold_seconds(Wait("paused"), held_before=20, state=idle, parked=True) == fc.MAX_PARKED_SECONDS


def test_rate_waiters_are_spread_over_the_periods_their_turns_take():
    busy = state(rate=10, period=1, waiting=100)
    soonest = fc.hold_seconds(Wait("rate", 0.3), held_before=0, state=busy, spread=0.0)
    latest = fc.hold_seconds(Wait("rate", 0.3), held_before=0, state=busy, spread=1.0)
    assert soonest == 0.3 and latest == 0.3 + 10  # 100 waiting at 10 per second


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("parallelism=2, rate=5, period=60s", FlowControlValue(2, 5, 60)),
        ("rate=10,period=1m", FlowControlValue(None, 10, 60)),
        ("rate=23, period=1h30m3s", FlowControlValue(None, 23, 5403)),
        ("parallelism=5", FlowControlValue(5, None, 1)),
        ("rate=1", FlowControlValue(None, 1, 1)),
        ("period=7d, rate=1", FlowControlValue(None, 1, 604_800)),
    ],
)
def test_flow_control_values_parse_with_period_defaulting_to_one_second(raw, expected):
    assert fc.parse_flow_control_value(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "parallelism=0",
        "parallelism=-1",
        "parallelism=1.5",
        f"parallelism={fc.MAX_PARALLELISM + 1}",
        "rate=0",
        f"rate={fc.MAX_RATE + 1}",
        "rate=1, period=8d",
        "period=10s",
        "speed=3",
        "",
    ],
)
def test_bad_flow_control_values_are_refused_naming_the_header(raw):
    with pytest.raises(InvalidInput) as caught:
        fc.parse_flow_control_value(raw)
    assert caught.value.field == "Upstash-Flow-Control-Value"
