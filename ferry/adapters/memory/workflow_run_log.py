"""In-memory twin of the run log, for fast use-case tests (the contract test holds it to
DynamoRunLog's behaviour)."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Sequence

from ferry.domain.workflow_protocol import Run, RunMessage, RunState, Waiter
from ferry.usecases.workflow_ports import RunClosed


class InMemoryRunLog:
    def __init__(self) -> None:
        self._runs: dict[str, Run] = {}
        self._messages: dict[str, list[RunMessage]] = {}
        self._seq: dict[str, int] = {}
        self._lock = threading.Lock()
        self._tokens: dict[tuple[str, str], str] = {}
        self._waiters: dict[str, dict[tuple[str, str], Waiter]] = {}
        self._events: dict[str, list[tuple[int, str]]] = {}

    def create_run(self, run: Run) -> bool:
        with self._lock:
            if run.run_id in self._runs:
                return False
            self._runs[run.run_id] = run
            self._messages[run.run_id] = []
            self._seq[run.run_id] = 0
            return True

    def get_run(self, run_id: str) -> Run | None:
        return self._runs.get(run_id)

    def append(self, run_id: str, message: RunMessage) -> RunMessage:
        with self._lock:
            run = self._runs.get(run_id)
            if run is None or run.state is not RunState.RUNNING:
                raise RunClosed(run_id)
            for earlier in self._messages[run_id]:
                if earlier.dedup_key == message.dedup_key:
                    return earlier
            stored = dataclasses.replace(message, seq=self._seq[run_id])
            self._seq[run_id] += 1
            self._messages[run_id].append(stored)
            return stored

    def messages(self, run_id: str) -> Sequence[RunMessage]:
        return list(self._messages.get(run_id, []))

    def find(self, run_id: str, message_id: str) -> RunMessage | None:
        return next((m for m in self._messages.get(run_id, []) if m.message_id == message_id), None)

    def set_state(
        self, run_id: str, state: RunState, now_ms: int, *, error: str | None = None, only_if_running: bool
    ) -> bool:
        with self._lock:
            run = self._runs.get(run_id)
            if run is None or (only_if_running and run.state is not RunState.RUNNING):
                return False
            self._runs[run_id] = dataclasses.replace(run, state=state, updated_at=now_ms, error=error)
            return True

    def set_execution(self, run_id: str, execution: str, segment: int) -> None:
        with self._lock:
            self._runs[run_id] = dataclasses.replace(self._runs[run_id], execution=execution, segment=segment)

    def list_runs(self, *, limit: int, cursor: str | None = None) -> tuple[list[Run], str | None]:
        ordered = sorted(self._runs.values(), key=lambda r: (r.created_at, r.run_id), reverse=True)
        start = int(cursor) if cursor else 0
        page = ordered[start : start + limit]
        more = start + limit < len(ordered)
        return page, (str(start + limit) if more else None)

    def put_wait_token(self, run_id: str, wait_id: str, token: str) -> None:
        self._tokens[(run_id, wait_id)] = token

    def wait_token(self, run_id: str, wait_id: str) -> str | None:
        return self._tokens.get((run_id, wait_id))

    def add_waiter(self, waiter: Waiter) -> None:
        with self._lock:
            self._waiters.setdefault(waiter.event_id, {})[(waiter.run_id, waiter.wait_id)] = waiter

    def waiters(self, event_id: str) -> Sequence[Waiter]:
        return sorted(self._waiters.get(event_id, {}).values(), key=lambda w: (w.created_ms, w.wait_id))

    def remove_waiter(self, event_id: str, run_id: str, wait_id: str) -> None:
        with self._lock:
            self._waiters.get(event_id, {}).pop((run_id, wait_id), None)

    def record_event(self, event_id: str, data: str, now_ms: int, *, keep_seconds: int) -> None:
        with self._lock:
            self._events.setdefault(event_id, []).append((now_ms, data))

    def events(self, event_id: str, since_ms: int) -> Sequence[tuple[int, str]]:
        return [e for e in self._events.get(event_id, []) if e[0] >= since_ms]
