"""Flow-control keys (`/v2/flowControl`): get, list, pause, resume, pin, unpin, resetRate, and the
global parallelism figure (`/v2/globalParallelism`)."""

from __future__ import annotations

from collections.abc import Callable

from ferry.domain import flow_control as fc
from ferry.domain.errors import NotFound
from ferry.domain.flow_control import LimitState
from ferry.usecases.flow_control_store import LimitStore
from ferry.usecases.ports import Clock


def info_body(state: LimitState, now_ms: int) -> dict[str, object]:
    """FlowControlInfo as QStash returns it (ratePeriodStart in unix seconds)."""
    window = state.window_starts(now_ms) if state.rate else ()
    return {
        "flowControlKey": state.name,
        "waitListSize": state.waiting,
        "parallelismMax": state.parallelism or 0,
        "parallelismCount": len(state.live_leases(now_ms)),
        "rateMax": state.rate or 0,
        "rateCount": len(window),
        "ratePeriod": state.period,
        "ratePeriodStart": (window[0] if window else state.rate_period_start_ms) // 1000,
        "isPaused": state.paused,
        "isPinnedParallelism": state.pinned_parallelism,
        "isPinnedRate": state.pinned_rate,
        "blockedUntil": state.blocked_until_ms if state.blocked_until_ms > now_ms else 0,
    }


class FlowControls:
    def __init__(self, *, store: LimitStore, clock: Clock, parallelism_max: int) -> None:
        self._store = store
        self._clock = clock
        self._parallelism_max = parallelism_max

    def _now_ms(self) -> int:
        return int(self._clock.now() * 1000)

    def get(self, key: str) -> dict[str, object]:
        fc.check_key(key, field="flowControlKey")
        state = self._store.get("fc", key)
        if state is None:
            raise NotFound(
                f"flow-control key {key!r} is unknown (no message used it yet)", field="flowControlKey"
            )
        return info_body(state, self._now_ms())

    def list(self, search: str | None = None) -> list[dict[str, object]]:
        now_ms = self._now_ms()
        return [
            info_body(s, now_ms)
            for s in self._store.list("fc")
            if not search or search.lower() in s.name.lower()
        ]

    def pause(self, key: str) -> None:
        self._change(key, lambda s, now: fc.set_paused(s, True, now))

    def resume(self, key: str) -> None:
        self._change(key, lambda s, now: fc.set_paused(s, False, now))

    def pin(self, key: str, *, parallelism: int | None, rate: int | None, period: int | None) -> None:
        self._change(
            key, lambda s, now: fc.pin(s, parallelism=parallelism, rate=rate, period=period, now_ms=now)
        )

    def unpin(self, key: str, *, parallelism: bool, rate: bool) -> None:
        self._change(key, lambda s, now: fc.unpin(s, parallelism=parallelism, rate=rate, now_ms=now))

    def reset_rate(self, key: str) -> None:
        self._change(key, fc.reset_rate)

    def global_parallelism(self) -> dict[str, int]:
        now_ms = self._now_ms()
        count = sum(len(s.live_leases(now_ms)) for kind in ("fc", "queue") for s in self._store.list(kind))
        return {"parallelismMax": self._parallelism_max, "parallelismCount": count}

    def _change(self, key: str, apply: Callable[[LimitState, int], LimitState]) -> None:
        """Settings may be given before the first message: an unknown key is created."""
        fc.check_key(key, field="flowControlKey")
        now_ms = self._now_ms()
        self._store.update("fc", key, lambda s: (None, apply(s or fc.new_state("fc", key, now_ms), now_ms)))
