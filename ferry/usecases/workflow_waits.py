"""Waits of workflow runs: `waitForEvent` (woken by notify or its timeout) and `invoke` (woken by
the invoked run's end).

A wait is a WAIT message in its run's log; it is resolved by appending a STEP (the result the SDK
reads) under the step's own id, so the run log's first-copy-wins claim decides between a notify,
the timeout and a repeated notify: exactly one resolution per wait. The run driver sits in its
WaitForEvent task meanwhile; whoever resolves the wait, or the dispatcher when it finds the wait
already resolved, answers that task with "deliver the resolution". Both may answer; the second
answer is refused by Step Functions (the task is gone) and changes nothing.

Lookback: every notified event is kept for `lookback_seconds`, and a wait that starts finds the
newest one it has not consumed yet, so an event sent just before the wait is not lost.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from ferry.domain.workflow_bodies import invoke_result_body, wait_result_body
from ferry.domain.workflow_protocol import Action, MessageKind, Run, RunMessage, RunState, StepInfo, Waiter
from ferry.usecases.ports import Clock
from ferry.usecases.publish_message import new_message_id
from ferry.usecases.workflow_ports import RunClosed, RunDriver, RunLog

log = logging.getLogger("ferry.workflows")
DEFAULT_LOOKBACK_SECONDS = 300


class WorkflowWaits:
    def __init__(
        self,
        *,
        log: RunLog,
        driver: RunDriver,
        clock: Clock,
        lookback_seconds: int = DEFAULT_LOOKBACK_SECONDS,
    ) -> None:
        self._log = log
        self._driver = driver
        self._clock = clock
        self._lookback = lookback_seconds

    def _now_ms(self) -> int:
        return int(self._clock.now() * 1000)

    # --- a wait starts ------------------------------------------------------------------------

    def started(self, run_id: str, wait: RunMessage) -> None:
        """A new WAIT was appended. The waiter is listed before the lookback is read, and notify
        records its event before it reads the waiters: a notify racing the start is seen by at
        least one of the two (and the claim lets only one resolve)."""
        info = wait.wait
        if info is None or info.event_id is None:
            return
        self._log.add_waiter(
            Waiter(
                event_id=info.event_id,
                run_id=run_id,
                wait_id=wait.message_id,
                url=wait.envelope.destination,
                created_ms=wait.envelope.created_at,
                deadline_ms=info.deadline_ms or 0,
            )
        )
        floor = max(self._now_ms() - self._lookback * 1000, self._consumed_until(run_id, wait))
        events = [
            *self._log.events(info.event_id, floor),
            *self._log.events(_for_run(run_id, info.event_id), floor),
        ]
        unseen = sorted(e for e in events if e[0] > floor)
        if unseen:
            self.resolve_event(run_id, wait, unseen[-1][1])

    def _consumed_until(self, run_id: str, wait: RunMessage) -> int:
        """When this run's latest earlier wait on the same event was resolved: events up to then
        were that wait's to take, not this one's."""
        messages = self._log.messages(run_id)
        earlier = {
            m.message_id
            for m in messages
            if m.kind is MessageKind.WAIT
            and m.message_id != wait.message_id
            and m.wait is not None
            and wait.wait is not None
            and m.wait.event_id == wait.wait.event_id
        }
        resolved = [m.envelope.created_at for m in messages if m.resolves in earlier]
        return max(resolved, default=0)

    # --- a wait ends --------------------------------------------------------------------------

    def notify(self, event_id: str, data: str, *, run_id: str | None = None) -> list[dict[str, Any]]:
        """Wake every run waiting for `event_id` (or only run `run_id`); answer one entry per
        woken waiter."""
        now_ms = self._now_ms()
        kept_as = event_id if run_id is None else _for_run(run_id, event_id)
        self._log.record_event(kept_as, data, now_ms, keep_seconds=self._lookback)
        woken: list[dict[str, Any]] = []
        for waiter in self._log.waiters(event_id):
            if run_id is not None and waiter.run_id != run_id:
                continue
            wait = self._log.find(waiter.run_id, waiter.wait_id)
            if wait is None:
                self._log.remove_waiter(event_id, waiter.run_id, waiter.wait_id)
                continue
            resolution = self.resolve_event(waiter.run_id, wait, data)
            if resolution is not None:
                woken.append({"waiter": waiter_body(waiter), "messageId": resolution.message_id})
        return woken

    def resolve_event(self, run_id: str, wait: RunMessage, data: str | None) -> RunMessage | None:
        """The event arrived (data) or the wait timed out (None). None when it was resolved before."""
        body = wait_result_body(wait.envelope.body_bytes(), event_data=data)
        resolution = self._resolve(run_id, wait, body)
        if wait.wait is not None and wait.wait.event_id is not None:
            self._log.remove_waiter(wait.wait.event_id, run_id, wait.message_id)
        return resolution

    def invoked_run_ended(self, child: Run, *, body: str | None, failed: bool, canceled: bool) -> None:
        """The invoked run finished, failed or was cancelled: its parent's invoke step resolves."""
        if not (child.parent_run_id and child.parent_wait_id):
            return
        wait = self._log.find(child.parent_run_id, child.parent_wait_id)
        if wait is None:
            return
        result = invoke_result_body(wait.envelope.body_bytes(), body=body, failed=failed, canceled=canceled)
        self._resolve(child.parent_run_id, wait, result)

    def _resolve(self, run_id: str, wait: RunMessage, body: str) -> RunMessage | None:
        now_ms = self._now_ms()
        envelope = wait.envelope.model_copy(
            update={"id": new_message_id(), "body": body, "body_encoding": "utf8", "created_at": now_ms}
        )
        step = wait.step
        assert step is not None
        result_step = StepInfo(step.step_id, step.step_name, step.step_type)
        candidate = RunMessage(
            seq=-1,
            message_id=envelope.id,
            kind=MessageKind.STEP,
            envelope=envelope,
            dedup_key=result_step.dedup_key,
            step=result_step,
            resolves=wait.message_id,
        )
        try:
            stored = self._log.append(run_id, candidate)
        except RunClosed:
            return None
        if stored.message_id != candidate.message_id:
            return None  # resolved before (notify twice, notify vs timeout): the first one counts
        token = self._log.wait_token(run_id, wait.message_id)
        if token is not None:
            self._wake(token, stored)
        return stored

    # --- the run driver's WaitForEvent task ----------------------------------------------------

    def armed(self, run_id: str, wait: RunMessage, token: str) -> None:
        """The driver waits for this WAIT: keep its token; answer at once if already resolved, or
        if the run ended meanwhile (see below)."""
        self._log.put_wait_token(run_id, wait.message_id, token)
        run = self._log.get_run(run_id)
        if run is None or run.state is not RunState.RUNNING:
            # A cancel that landed after the dispatcher saw the run running looked for this token
            # before it was kept, so nobody else answers it; moto would hold the stopped execution
            # in WaitForEvent until its timeout. cancel() writes the state and then reads tokens,
            # this keeps the token and then reads the state: one of the two sees the other.
            self._release(token)
            return
        resolution = self.resolution_of(run_id, wait)
        if resolution is not None:
            self._wake(token, resolution)

    def cancelled(self, run_id: str) -> None:
        """The run was cancelled while it may wait: its waiters go, and a waiting task is answered
        (on AWS `StopExecution` already ended it and this is a no-op; moto keeps a stopped
        execution's callback task waiting until it is answered)."""
        messages = self._log.messages(run_id)
        resolved = {m.resolves for m in messages if m.resolves}
        for wait in messages:
            if wait.kind is not MessageKind.WAIT or wait.message_id in resolved:
                continue
            if wait.wait is not None and wait.wait.event_id is not None:
                self._log.remove_waiter(wait.wait.event_id, run_id, wait.message_id)
            token = self._log.wait_token(run_id, wait.message_id)
            if token is not None:
                self._release(token)

    def _release(self, token: str) -> None:
        # An answer, not a failure: moto then sees the stop at the next state (ABORTED); an
        # execution that was not stopped ends in the Canceled state.
        self._driver.succeed(token, {"action": Action.CANCELED.value})

    def resolution_of(self, run_id: str, wait: RunMessage) -> RunMessage | None:
        return next((m for m in self._log.messages(run_id) if m.resolves == wait.message_id), None)

    def _wake(self, token: str, resolution: RunMessage) -> None:
        self._driver.succeed(token, {"action": Action.DELIVER.value, "messageId": resolution.message_id})

    def waiters(self, event_id: str) -> Sequence[dict[str, Any]]:
        """Runs still waiting (a cancelled run's waiter goes at the next notify of its event)."""
        listed = []
        for waiter in self._log.waiters(event_id):
            run = self._log.get_run(waiter.run_id)
            if run is not None and run.state is RunState.RUNNING:
                listed.append(waiter_body(waiter))
        return listed


def _for_run(run_id: str, event_id: str) -> str:
    """The key of an event notified to one run (`POST /v2/notify/{runId}/{eventId}`)."""
    return f"{run_id}/{event_id}"


def waiter_body(waiter: Waiter) -> dict[str, Any]:
    return {
        "url": waiter.url,
        "workflowRunId": waiter.run_id,
        "createdAt": waiter.created_ms,
        "deadline": waiter.deadline_ms // 1000,
    }


def event_text(raw: bytes) -> str:
    """Event data as text (the SDKs send a JSON string or the user's text)."""
    return raw.decode("utf-8", "replace")
