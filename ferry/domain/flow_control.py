"""Limits on when a message may start: parallelism slots (leases that expire), a rate per period,
pause, and backpressure ("blocked until"), for one flow-control key or one queue.

Plain data and pure functions: a `LimitState` goes in with the time, a decision and the next state
come out. The store that keeps states (DynamoDB, or the in-memory twin) applies these functions
under optimistic concurrency, so every dispatcher instance sees one shared limit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Literal

from ferry.domain.durations import parse_duration
from ferry.domain.errors import InvalidInput
from ferry.domain.http_headers import whole_number
from ferry.domain.limits import SQS_MAX_DELAY_SECONDS, SQS_MAX_VISIBILITY_SECONDS

# Documented maxima (docs/flow-control.md). Parallelism: QStash's pay-as-you-go figure. Rate: the
# sliding window keeps one timestamp per start, so the state item grows with it (hot-key limit).
MAX_PARALLELISM = 100
MAX_RATE = 1_000
MAX_PERIOD_SECONDS = 7 * 86_400
DEFAULT_PERIOD_SECONDS = 1
FLOW_KEY = re.compile(r"^[A-Za-z0-9._\-]{1,256}$")

Kind = Literal["queue", "fc"]
WaitReason = Literal["paused", "parallelism", "rate", "backpressure"]


@dataclass(frozen=True)
class FlowControlValue:
    """What one message asks for: `Upstash-Flow-Control-Value: parallelism=2, rate=5, period=60s`."""

    parallelism: int | None = None
    rate: int | None = None
    period: int = DEFAULT_PERIOD_SECONDS


def _whole_number(value: object, *, field: str, maximum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput(f"{field} must be a whole number, not {value!r}", field=field)
    if not 1 <= value <= maximum:
        raise InvalidInput(f"{field} must be between 1 and {maximum}, not {value}", field=field)
    return value


def check_parallelism(value: object, *, field: str) -> int:
    return _whole_number(value, field=field, maximum=MAX_PARALLELISM)


def check_rate(value: object, *, field: str) -> int:
    return _whole_number(value, field=field, maximum=MAX_RATE)


def check_period(seconds: int, *, field: str) -> int:
    if not 1 <= seconds <= MAX_PERIOD_SECONDS:
        raise InvalidInput(
            f"{field}: period must be between 1 s and 1 week ({MAX_PERIOD_SECONDS} s), not {seconds} s",
            field=field,
        )
    return seconds


def check_key(key: str, *, field: str) -> str:
    if not FLOW_KEY.fullmatch(key):
        raise InvalidInput(
            f"{field}: {key!r} may only contain letters, digits, '-', '_' and '.'", field=field
        )
    return key


def parse_flow_control_value(raw: str, *, field: str = "Upstash-Flow-Control-Value") -> FlowControlValue:
    """`parallelism=<n>, rate=<n>, period=<duration or seconds>` in any order, spaces optional.
    `period` defaults to 1 s (as QStash reads back); at least one of parallelism and rate."""
    values: dict[str, int] = {}
    for part in (p.strip() for p in raw.split(",")):
        if not part:
            continue
        name, sep, value = (s.strip() for s in part.partition("="))
        name = name.lower()
        if not sep or name not in ("parallelism", "rate", "period"):
            raise InvalidInput(
                f"{field}: {part!r} is not parallelism=<n>, rate=<n> or period=<duration>", field=field
            )
        if name in values:
            raise InvalidInput(f"{field}: {name} is given twice; give it once", field=field)
        if name == "period":
            values["period"] = check_period(parse_duration(value, field=field), field=field)
            continue
        try:
            number = whole_number(value)
        except ValueError:
            raise InvalidInput(
                f"{field}: {name} must be a whole number, not {value!r}", field=field
            ) from None
        values[name] = (
            check_parallelism(number, field=field)
            if name == "parallelism"
            else check_rate(number, field=field)
        )
    if "parallelism" not in values and "rate" not in values:
        raise InvalidInput(
            f"{field}: give parallelism=<n>, rate=<n> or both with a flow-control key", field=field
        )
    return FlowControlValue(**values)


# --- state and decisions ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Lease:
    lease_id: str
    key: str
    expires_ms: int


@dataclass(frozen=True)
class Wait:
    reason: WaitReason
    # Known for rate and backpressure (when the window or the block ends); None for pause and
    # parallelism (a slot frees when someone finishes), where the caller backs off instead.
    seconds: float | None = None


@dataclass(frozen=True)
class LimitState:
    kind: Kind
    name: str
    parallelism: int | None = None
    rate: int | None = None
    period: int = DEFAULT_PERIOD_SECONDS
    paused: bool = False
    pinned_parallelism: bool = False
    pinned_rate: bool = False
    # lease id -> expiry (unix ms). An attempt that never releases its slot (crash) loses it here.
    leases: dict[str, int] = field(default_factory=dict)
    # Start times (unix ms) inside the current sliding window: at most `rate` of them.
    starts: tuple[int, ...] = ()
    rate_period_start_ms: int = 0
    blocked_until_ms: int = 0
    # Messages accepted and not yet started (queue `lag`, flow-control `waitListSize`).
    waiting: int = 0
    created_ms: int = 0
    updated_ms: int = 0
    # Queues only: messages enqueued so far (lane assignment), and receives spent held per message
    # (FIFO heads held by a limit, so holding never counts against a retry budget).
    enqueued: int = 0
    held: dict[str, int] = field(default_factory=dict)
    # Queues only: paused FIFO heads hidden for long (message id -> [queue url, receipt handle]),
    # woken by resume so a long pause costs few receives and resume is immediate.
    parked: dict[str, list[str]] = field(default_factory=dict)

    def live_leases(self, now_ms: int) -> dict[str, int]:
        return {lid: exp for lid, exp in self.leases.items() if exp > now_ms}

    def window_starts(self, now_ms: int) -> tuple[int, ...]:
        return tuple(t for t in self.starts if t > now_ms - self.period * 1000)


def new_state(kind: Kind, name: str, now_ms: int) -> LimitState:
    return LimitState(kind=kind, name=name, created_ms=now_ms, updated_ms=now_ms, rate_period_start_ms=now_ms)


def acquire(
    state: LimitState, *, lease_id: str, now_ms: int, lease_ms: int
) -> tuple[Lease | Wait, LimitState]:
    """May one more attempt start now? Expired leases are dropped first; pause, backpressure,
    parallelism and rate are checked in that order; a start takes a slot and a place in the window."""
    leases = state.live_leases(now_ms)
    starts = state.window_starts(now_ms) if state.rate else ()
    cleaned = replace(state, leases=leases, starts=starts)
    if lease_id in leases:  # the same attempt asking again (a retried store write): already granted
        return Lease(lease_id, state.name, leases[lease_id]), cleaned
    if state.paused:
        return Wait("paused"), cleaned
    if state.blocked_until_ms > now_ms:
        return Wait("backpressure", (state.blocked_until_ms - now_ms) / 1000), cleaned
    if state.parallelism is not None and len(leases) >= state.parallelism:
        return Wait("parallelism"), cleaned
    if state.rate is not None and len(starts) >= state.rate:
        # The oldest start in the window leaves it first.
        return Wait("rate", (starts[0] + state.period * 1000 - now_ms) / 1000), cleaned
    expires = now_ms + lease_ms
    period_start = state.rate_period_start_ms
    if state.rate is not None and not starts:
        period_start = now_ms
    granted = replace(
        cleaned,
        leases={**leases, lease_id: expires},
        starts=(*starts, now_ms) if state.rate is not None else (),
        rate_period_start_ms=period_start,
    )
    return Lease(lease_id, state.name, expires), granted


def release(state: LimitState, lease_id: str) -> LimitState:
    return replace(state, leases={k: v for k, v in state.leases.items() if k != lease_id})


def started(state: LimitState) -> LimitState:
    """A message of this key made its first attempt: it leaves the wait list."""
    return replace(state, waiting=max(0, state.waiting - 1))


def block(state: LimitState, *, until_ms: int) -> LimitState:
    """Backpressure: the destination asked to slow down; nothing of this key starts before `until_ms`."""
    return replace(state, blocked_until_ms=max(state.blocked_until_ms, until_ms))


def configure(state: LimitState, value: FlowControlValue, now_ms: int) -> LimitState:
    """The latest message's values replace the key's configuration, except what is pinned."""
    changes: dict[str, object] = {}
    if not state.pinned_parallelism:
        changes["parallelism"] = value.parallelism
    if not state.pinned_rate:
        changes["rate"] = value.rate
        changes["period"] = value.period
    if all(getattr(state, k) == v for k, v in changes.items()):
        return state
    return replace(state, updated_ms=now_ms, **changes)


def pin(
    state: LimitState, *, parallelism: int | None, rate: int | None, period: int | None, now_ms: int
) -> LimitState:
    """Pin values: later messages no longer change them. Pinning resets the rate state."""
    changes: dict[str, object] = {"updated_ms": now_ms, "starts": (), "rate_period_start_ms": now_ms}
    if parallelism is not None:
        changes.update(parallelism=parallelism, pinned_parallelism=True)
    if rate is not None or period is not None:
        changes.update(pinned_rate=True)
        if rate is not None:
            changes["rate"] = rate
        if period is not None:
            changes["period"] = period
    return replace(state, **changes)


def unpin(state: LimitState, *, parallelism: bool, rate: bool, now_ms: int) -> LimitState:
    return replace(
        state,
        pinned_parallelism=state.pinned_parallelism and not parallelism,
        pinned_rate=state.pinned_rate and not rate,
        updated_ms=now_ms,
    )


def reset_rate(state: LimitState, now_ms: int) -> LimitState:
    """Zero the rate count and start a new period now."""
    return replace(state, starts=(), rate_period_start_ms=now_ms, updated_ms=now_ms)


def set_paused(state: LimitState, paused: bool, now_ms: int) -> LimitState:
    return replace(state, paused=paused, updated_ms=now_ms)


def hold_seconds(
    wait: Wait, *, held_before: int, state: LimitState | None, parked: bool = False, spread: float = 0.0
) -> float:
    """How long a held message stays hidden before it asks again, so waiting never polls in a hot
    loop. `spread` (0 to 1, random per message) spreads the waiters over the time their turns take.

    * rate: until the oldest start leaves the window, plus the spread over the time the waiters
      ahead need at this rate (waiting / rate periods), so each period sees about `rate` asking;
    * backpressure: exactly until the block ends;
    * paused queue head (parked; resume wakes it): 1, 2, 4, ... s up to SQS's visibility limit;
    * pause, full slots: a backoff that grows with the holds and the waiters per slot, at most
      MAX_HOLD_SECONDS.
    """
    waiting = state.waiting if state else 0
    if wait.reason == "rate" and wait.seconds is not None and state is not None and state.rate:
        turns = waiting / state.rate * state.period
        return max(wait.seconds, 0.2) + spread * min(turns, MAX_RATE_SPREAD_SECONDS)
    if wait.seconds is not None:
        return max(wait.seconds, 0.2)
    if parked:
        return float(min(MAX_PARKED_SECONDS, 2 ** min(held_before, 16)))
    per_slot = waiting / max((state.parallelism if state else None) or 1, 1)
    backoff = max(2 ** min(held_before, 10), 1 + per_slot * 0.5)
    return float(min(MAX_HOLD_SECONDS, backoff * (1 + spread * 0.5)))


# A rate waiter is spread over at most this long (SQS delays a re-sent message at most 15 minutes).
MAX_RATE_SPREAD_SECONDS = SQS_MAX_DELAY_SECONDS
# A held message asks again at least this often (pause and full slots): resume and freed slots
# are noticed within it.
MAX_HOLD_SECONDS = 30
# A parked queue head is hidden as long as SQS allows.
MAX_PARKED_SECONDS = SQS_MAX_VISIBILITY_SECONDS
