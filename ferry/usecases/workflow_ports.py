"""What the workflow use cases need from the outside: the run log and the run driver."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from ferry.domain.workflow_protocol import Run, RunMessage, RunState, Waiter


class RunLog(Protocol):
    """Every run and every message of it, keyed by run id (DynamoDB `WFR#<runId>`)."""

    def create_run(self, run: Run) -> bool:
        """False when a run with this id already exists (creation is idempotent on the id)."""
        ...

    def get_run(self, run_id: str) -> Run | None: ...

    def append(self, run_id: str, message: RunMessage) -> RunMessage:
        """Append at the next sequence number; a message whose `dedup_key` the run already holds is
        not appended, and the earlier copy is returned. Raises RunClosed when the run has ended."""
        ...

    def messages(self, run_id: str) -> Sequence[RunMessage]:
        """In acceptance order (strongly consistent)."""
        ...

    def find(self, run_id: str, message_id: str) -> RunMessage | None: ...

    def set_state(
        self, run_id: str, state: RunState, now_ms: int, *, error: str | None = None, only_if_running: bool
    ) -> bool:
        """False when `only_if_running` and the run had already ended."""
        ...

    def set_execution(self, run_id: str, execution: str, segment: int) -> None: ...

    def list_runs(self, *, limit: int, cursor: str | None = None) -> tuple[list[Run], str | None]:
        """Newest first."""
        ...

    # --- waits (waitForEvent, invoke) ---------------------------------------------------------

    def put_wait_token(self, run_id: str, wait_id: str, token: str) -> None:
        """The run driver's task token of a WAIT, for whoever resolves it."""
        ...

    def wait_token(self, run_id: str, wait_id: str) -> str | None: ...

    def add_waiter(self, waiter: Waiter) -> None: ...

    def waiters(self, event_id: str) -> Sequence[Waiter]: ...

    def remove_waiter(self, event_id: str, run_id: str, wait_id: str) -> None: ...

    def record_event(self, event_id: str, data: str, now_ms: int, *, keep_seconds: int) -> None:
        """A notified event, kept `keep_seconds` for waits that start just after it (lookback)."""
        ...

    def events(self, event_id: str, since_ms: int) -> Sequence[tuple[int, str]]:
        """Events notified at or after `since_ms`, oldest first: (notified at ms, data)."""
        ...


class RunClosed(Exception):
    """The run finished or was cancelled: nothing more can be appended."""


class RunDriver(Protocol):
    """The Step Functions state machine that drives runs."""

    def start(self, name: str, run_input: dict[str, Any]) -> str:
        """Start an execution (idempotent on the name); returns its ARN."""
        ...

    def stop(self, execution: str, *, cause: str) -> None: ...

    def succeed(self, task_token: str, output: dict[str, Any]) -> bool:
        """Report a task's result; False when the task is gone (stopped or timed out execution)."""
        ...

    def fail(self, task_token: str, *, error: str, cause: str) -> bool: ...

    def redrive(self, execution: str) -> bool:
        """Restart a failed execution at its failed state; False when the service cannot."""
        ...

    def status(self, execution: str) -> str: ...
