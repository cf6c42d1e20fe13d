"""Workflow runs, API side: a workflow publish joins its run's log (the run driver delivers it),
and runs are read, finished, cancelled and redriven here."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ferry.domain.errors import InvalidInput, NotFound
from ferry.domain.history import LogEvent, State
from ferry.domain.publish_request import HeaderView, PublishPlan
from ferry.domain.workflow_bodies import InvokeRequest
from ferry.domain.workflow_driver import execution_input, execution_name
from ferry.domain.workflow_protocol import (
    MessageKind,
    Run,
    RunMessage,
    RunState,
    StepInfo,
    WaitInfo,
    WorkflowHeaders,
    call_step_key,
    step_info,
)
from ferry.usecases.ports import Clock, History
from ferry.usecases.publish_message import PublishResult
from ferry.usecases.workflow_ports import RunClosed, RunDriver, RunLog
from ferry.usecases.workflow_waits import WorkflowWaits


@dataclasses.dataclass(frozen=True)
class EventWait:
    """A `POST /v2/wait/{eventId}`: the step's message waits for the event until the deadline."""

    event_id: str
    timeout_seconds: int


class WorkflowRuns:
    def __init__(
        self, *, log: RunLog, driver: RunDriver, history: History, clock: Clock, waits: WorkflowWaits
    ) -> None:
        self._log = log
        self._driver = driver
        self._history = history
        self._clock = clock
        self.waits = waits

    def _now_ms(self) -> int:
        return int(self._clock.now() * 1000)

    # --- publish side ------------------------------------------------------------------------

    def accept(
        self,
        plan: PublishPlan,
        workflow: WorkflowHeaders,
        headers: Mapping[str, str],
        *,
        wait: EventWait | None = None,
        parent: tuple[str, str] | None = None,
    ) -> PublishResult:
        """A publish carrying `Upstash-Workflow-RunId`: create the run (Init) or append to it."""
        envelope = plan.envelope
        view = HeaderView(headers)
        kind = MessageKind.WAIT if wait is not None else workflow.kind
        now_ms = self._now_ms()
        if kind is MessageKind.INITIAL:
            self._log.create_run(
                Run(
                    run_id=workflow.run_id,
                    url=workflow.url,
                    state=RunState.RUNNING,
                    created_at=now_ms,
                    updated_at=now_ms,
                    labels=envelope.labels,
                    redact=envelope.redact,
                    parent_run_id=parent[0] if parent else None,
                    parent_wait_id=parent[1] if parent else None,
                    step_retries=envelope.max_retries if view.get("Upstash-Retries") is not None else None,
                    step_retry_delay=envelope.retry_delay,
                )
            )
        run = self._log.get_run(workflow.run_id)
        if run is None:
            raise NotFound(f"workflow run {workflow.run_id} does not exist", field="Upstash-Workflow-RunId")
        if run.redact is not None and envelope.redact is None:
            # Redaction asked for at the start holds for the whole run (steps, calls, waits).
            envelope = envelope.model_copy(update={"redact": run.redact})
        if kind in (MessageKind.STEP, MessageKind.WAIT):
            # So do the start's retries and retry delay, for steps that name none of their own
            # (WF_TriggerOnConfig); a call's retries are the call's own.
            if run.step_retries is not None and view.get("Upstash-Retries") is None:
                envelope = envelope.model_copy(update={"max_retries": run.step_retries})
            if run.step_retry_delay is not None and view.get("Upstash-Retry-Delay") is None:
                envelope = envelope.model_copy(update={"retry_delay": run.step_retry_delay})
        step = step_info(MessageKind.STEP if wait else kind, envelope)
        wait_info = None
        if kind is MessageKind.WAIT:
            assert wait is not None and step is not None
            step = StepInfo(step.step_id, step.step_name, step.step_type)
            dedup_key = f"W{step.step_id}"
            wait_info = WaitInfo(event_id=wait.event_id, deadline_ms=now_ms + wait.timeout_seconds * 1000)
        elif kind is MessageKind.INITIAL:
            dedup_key = "INIT"
        elif kind is MessageKind.CALL:
            dedup_key = call_step_key(headers)
        else:
            assert step is not None
            dedup_key = step.dedup_key
        candidate = RunMessage(
            seq=-1,
            message_id=envelope.id,
            kind=kind,
            envelope=envelope,
            dedup_key=dedup_key,
            step=step,
            not_before_header=view.get("Upstash-Not-Before") is not None,
            wait=wait_info,
        )
        try:
            stored = self._log.append(run.run_id, candidate)
        except RunClosed:
            raise InvalidInput(
                f"workflow run {run.run_id} has already ended ({self._state(run.run_id)}); "
                "nothing can be appended to it",
                field="Upstash-Workflow-RunId",
            ) from None
        duplicate = stored.message_id != envelope.id
        if kind is MessageKind.WAIT:
            if not duplicate:
                self.waits.started(run.run_id, stored)
            return PublishResult(
                message_id=stored.message_id, url=envelope.destination, deduplicated=duplicate
            )
        if not duplicate:
            self._history.message_created(
                envelope, LogEvent.of(envelope, State.CREATED, now_ms, next_delivery_ms=envelope.not_before)
            )
        if kind is MessageKind.INITIAL and not run.execution:
            # Also after a crash between the run log and the start: the repeated Init starts it.
            name = execution_name(run.run_id, 1)
            arn = self._driver.start(name, execution_input(run.run_id, stored.message_id))
            self._log.set_execution(run.run_id, arn, 1)
        return PublishResult(message_id=stored.message_id, url=envelope.destination, deduplicated=duplicate)

    def accept_invoke(
        self,
        child_plan: PublishPlan,
        child: WorkflowHeaders,
        headers: Mapping[str, str],
        invoke: InvokeRequest,
        parent_plan: PublishPlan,
    ) -> PublishResult:
        """`context.invoke`: the parent's invoke step waits (a WAIT in the parent's log) for the
        child run, which starts here with the invoke's `body` as its initial payload."""
        parent = self._log.get_run(invoke.parent_run_id)
        if parent is None:
            raise NotFound(f"workflow run {invoke.parent_run_id} does not exist", field="workflowRunId")
        step = StepInfo(int(invoke.step["stepId"]), str(invoke.step["stepName"]), "Invoke")
        wait = RunMessage(
            seq=-1,
            message_id=parent_plan.envelope.id,
            kind=MessageKind.WAIT,
            envelope=parent_plan.envelope,
            dedup_key=f"W{step.step_id}",
            step=step,
            wait=WaitInfo(child_run_id=child.run_id),
        )
        try:
            stored = self._log.append(parent.run_id, wait)
        except RunClosed:
            raise InvalidInput(
                f"workflow run {parent.run_id} has already ended; it cannot invoke", field="workflowRunId"
            ) from None
        return self.accept(child_plan, child, headers, parent=(parent.run_id, stored.message_id))

    def _state(self, run_id: str) -> str:
        run = self._log.get_run(run_id)
        return run.state.value if run else "unknown"

    # --- runs API ----------------------------------------------------------------------------

    def get(self, run_id: str) -> tuple[Run, list[RunMessage]]:
        run = self._log.get_run(run_id)
        if run is None:
            raise NotFound(f"workflow run {run_id} does not exist", field="workflowRunId")
        return run, list(self._log.messages(run_id))

    def finish(self, run_id: str, result: str | None = None) -> None:
        """The SDK's `DELETE ...?cancel=false`: the function returned (`result`), the run succeeded."""
        run = self._log.get_run(run_id)
        if run is None:
            raise NotFound(f"workflow run {run_id} does not exist", field="workflowRunId")
        if self._log.set_state(run_id, RunState.SUCCESS, self._now_ms(), only_if_running=True):
            self.waits.invoked_run_ended(run, body=result, failed=False, canceled=False)

    def cancel(self, run_id: str) -> bool:
        """Mark the run cancelled first (appends then get 400, a late step result is ignored), then
        stop its execution. False when the run had already ended."""
        run = self._log.get_run(run_id)
        if run is None:
            raise NotFound(f"workflow run {run_id} does not exist", field="workflowRunId")
        if not self._log.set_state(run_id, RunState.CANCELED, self._now_ms(), only_if_running=True):
            return False
        if run.execution:
            self._driver.stop(run.execution, cause="cancelled through the API")
        self.waits.cancelled(run_id)
        self.waits.invoked_run_ended(run, body=None, failed=False, canceled=True)
        return True

    def cancel_many(self, run_ids: list[str]) -> int:
        cancelled = 0
        for run_id in run_ids:
            try:
                cancelled += self.cancel(run_id)
            except NotFound:
                continue
        return cancelled

    def redrive(self, run_id: str) -> Run:
        """Restart a failed run at its failed step: RedriveExecution where Step Functions offers
        it, else a new execution of the same run (same run id, next segment) from that step."""
        run, messages = self.get(run_id)
        if run.state is not RunState.FAILED:
            raise InvalidInput(f"only a failed run can be redriven; {run_id} is {run.state.value}")
        failed = self._failed_message(messages)
        self._log.set_state(run_id, RunState.RUNNING, self._now_ms(), only_if_running=False)
        if run.execution and self._driver.redrive(run.execution):
            return dataclasses.replace(run, state=RunState.RUNNING)
        segment = run.segment + 1
        arn = self._driver.start(execution_name(run_id, segment), execution_input(run_id, failed.message_id))
        self._log.set_execution(run_id, arn, segment)
        return dataclasses.replace(run, state=RunState.RUNNING, execution=arn, segment=segment)

    def _failed_message(self, messages: list[RunMessage]) -> RunMessage:
        for message in reversed(messages):
            if self._history.state(message.message_id) == State.FAILED:
                return message
        if not messages:
            raise InvalidInput("the run has no messages to redrive")
        return messages[-1]

    def list(
        self,
        *,
        limit: int = 100,
        cursor: str | None = None,
        state: str | None = None,
        url: str | None = None,
        since_ms: int | None = None,
        until_ms: int | None = None,
    ) -> tuple[list[Run], str | None]:
        runs, next_cursor = self._log.list_runs(limit=limit, cursor=cursor)
        keep: Callable[[Run], bool] = lambda r: (  # noqa: E731
            (state is None or r.state.value == state)
            and (url is None or r.url == url)
            and (since_ms is None or r.created_at >= since_ms)
            and (until_ms is None or r.created_at <= until_ms)
        )
        return [r for r in runs if keep(r)], next_cursor


def run_summary(
    run: Run,
    messages: list[RunMessage],
    states: Mapping[str, Any] | None = None,
    events: Mapping[str, Sequence[LogEvent]] | None = None,
) -> dict[str, Any]:
    """A run as the logs API shows it (Upstash's `workflowRunId`, `workflowState`, `steps`);
    with `events` (each message's delivery history) every step also has its attempts."""
    steps = []
    for message in messages:
        entry: dict[str, Any] = {
            "messageId": message.message_id,
            "callType": message.kind.value,
            "createdAt": message.envelope.created_at,
        }
        if message.step is not None:
            entry.update(
                stepId=message.step.step_id, stepName=message.step.step_name, stepType=message.step.step_type
            )
        if message.kind is MessageKind.STEP:
            entry["out"] = _step_out(message)
        elif message.kind in (MessageKind.INITIAL, MessageKind.CALL):
            # What the step was given: the run's payload, or the body of the third-party call.
            entry["input"] = _redacted_body(message)
        if states and message.message_id in states:
            entry["state"] = states[message.message_id]
        if events is not None:
            entry["attempts"] = attempts_of(events.get(message.message_id, ()))
            entry["durationMs"] = sum(a["durationMs"] or 0 for a in entry["attempts"])
        steps.append(entry)
    body: dict[str, Any] = {
        "workflowRunId": run.run_id,
        "workflowUrl": run.url,
        "workflowState": run.state.value,
        "workflowRunCreatedAt": run.created_at,
        "workflowRunCompletedAt": run.updated_at if run.state is not RunState.RUNNING else None,
        "executionArn": run.execution,
        "steps": steps,
    }
    if run.error:
        body["error"] = run.error
    return body


def attempts_of(events: Sequence[LogEvent]) -> list[dict[str, Any]]:
    """Each delivery attempt (an ACTIVE event and the ERROR/DELIVERED that ended it) with its
    start, duration and answer; an attempt still in flight has no duration yet."""
    attempts: list[dict[str, Any]] = []
    for event in sorted(events, key=lambda e: e.time_ms):
        if event.state is State.ACTIVE:
            attempts.append(
                {"retried": event.retried, "startedAt": event.time_ms, "durationMs": None, "status": None}
            )
        elif event.state in (State.DELIVERED, State.ERROR) and attempts:
            if attempts[-1]["durationMs"] is not None:
                continue
            attempts[-1]["durationMs"] = event.time_ms - attempts[-1]["startedAt"]
            attempts[-1]["status"] = event.response_status
            if event.error:
                attempts[-1]["error"] = event.error
    return attempts


def _redacted(message: RunMessage) -> bool:
    return message.envelope.redact is not None and message.envelope.redact.body


def _redacted_body(message: RunMessage) -> Any:
    if _redacted(message):
        return "REDACTED"
    return message.envelope.body_bytes().decode("utf-8", "replace")


def _step_out(message: RunMessage) -> Any:
    if _redacted(message):
        return "REDACTED"
    try:
        return json.loads(message.envelope.body_bytes()).get("out")
    except (ValueError, AttributeError):
        return None
