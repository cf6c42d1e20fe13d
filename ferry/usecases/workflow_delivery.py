"""Workflow deliveries, dispatcher side: the run driver's Task message goes through the existing
DeliverMessage (signing, retries, history, DLQ) and the outcome is reported to Step Functions.

    resolve:  the driver's skeleton envelope -> the real delivery (step array, call, callback)
    deliver:  DeliverMessage, unchanged (its retries ride on the Task's SQS message)
    report:   2xx -> SendTaskSuccess(next action from the run log)
              spent / non-retryable -> run FAILED, failure callback, SendTaskFailure(Ferry.StepFailed)
A redelivery after a crash finds the outcome in the history (DeliverMessage drops it) and reports
again, so a completed step is neither lost nor repeated.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Sequence
from typing import Any

from ferry.domain import workflow_driver
from ferry.domain.callbacks import callback_envelope
from ferry.domain.delivery import AttemptResult
from ferry.domain.envelope import Envelope, WorkflowRef
from ferry.domain.history import LogEvent, State
from ferry.domain.workflow_bodies import failure_body
from ferry.domain.workflow_driver import CANCELED_ERROR, STEP_FAILED_ERROR, continuation_name
from ferry.domain.workflow_protocol import (
    RUN_ID_HEADER,
    Action,
    MessageKind,
    Run,
    RunMessage,
    RunState,
    delivery_body,
    driver_position,
    next_action,
    parallel_group,
)
from ferry.usecases.deliver_message import DeliverMessage, DeliveryReport, Outcome
from ferry.usecases.ports import Clock, History, MessageQueue, QueuedMessage, ReceivedMessage
from ferry.usecases.publish_message import new_message_id
from ferry.usecases.workflow_ports import RunClosed, RunDriver, RunLog
from ferry.usecases.workflow_waits import WorkflowWaits

log = logging.getLogger("ferry.workflows")
# What a Map iteration (one parallel branch) answers: a marker; Join reads the run log.
BRANCH_DONE = {"branch": "done"}
# Headers of the SDK's own request that it forwards: recomputed per delivery, never replayed.
_NOT_REPLAYED = {"user-agent", "accept-encoding", "accept", "connection", "upstash-caller-ip"}


class WorkflowDelivery:
    def __init__(
        self,
        *,
        deliver: DeliverMessage,
        log: RunLog,
        driver: RunDriver,
        history: History,
        queue: MessageQueue,
        clock: Clock,
        default_timeout_seconds: int,
        waits: WorkflowWaits,
    ) -> None:
        self._waits = waits
        self._deliver = deliver
        self._log = log
        self._driver = driver
        self._history = history
        self._queue = queue
        self._clock = clock
        self._default_timeout = default_timeout_seconds

    def received(self, message: ReceivedMessage) -> DeliveryReport:
        """As DeliverMessage.received: a body that is no envelope is DeliverMessage's to refuse."""
        try:
            queued = message.read()
        except ValueError:
            return self._deliver.received(message)
        return self(queued)

    def __call__(self, message: QueuedMessage) -> DeliveryReport:
        ref = message.envelope.workflow
        if ref is None or not ref.task_token:
            return self._deliver(message)
        run = self._log.get_run(ref.run_id)
        if run is None or run.state is not RunState.RUNNING:
            self._ignore(ref, "the run has ended")
            return DeliveryReport(outcome=Outcome.CANCELED, retried=0, envelope=message.envelope)
        messages = list(self._log.messages(run.run_id))
        current = next((m for m in messages if m.message_id == message.envelope.id), None)
        if current is None:
            self._driver.fail(ref.task_token, error=STEP_FAILED_ERROR, cause="message not in the run log")
            return DeliveryReport(outcome=Outcome.DROPPED, retried=0, envelope=message.envelope)
        if current.kind is MessageKind.WAIT:
            if ref.waiting:
                # The driver's WaitForEvent task: nothing to deliver until the wait resolves.
                self._waits.armed(run.run_id, current, ref.task_token)
                return DeliveryReport(outcome=Outcome.DROPPED, retried=0, envelope=message.envelope)
            # The wait timed out (the driver's Catch): resolve it so, unless something was first.
            resolution = self._waits.resolve_event(run.run_id, current, None) or self._waits.resolution_of(
                run.run_id, current
            )
            if resolution is None:
                self._ignore(ref, "the run ended while it waited")
                return DeliveryReport(outcome=Outcome.CANCELED, retried=0, envelope=message.envelope)
            current = resolution
            messages = list(self._log.messages(run.run_id))
        if ref.join or ref.branch:
            parallel = self._parallel(run, messages, current, ref)
            if parallel is None:
                return DeliveryReport(outcome=Outcome.DROPPED, retried=0, envelope=message.envelope)
            current = parallel
        if not message.envelope.destination:
            message = dataclasses.replace(message, envelope=self._resolve(run, messages, current, ref))
        report = self._deliver(message)
        self._report(run.run_id, current, message, report)
        return report

    def _parallel(
        self, run: Run, messages: list[RunMessage], current: RunMessage, ref: WorkflowRef
    ) -> RunMessage | None:
        """What a parallel group's task delivers, or None when it is answered without a delivery."""
        assert ref.task_token
        group = parallel_group(messages, current)
        if ref.branch:
            target = current.step.target_step if current.step else None
            if group is not None and target in group.results:
                # Stored already (an iteration run again by a redrive): the body never runs twice.
                self._driver.succeed(ref.task_token, BRANCH_DONE)
                return None
            return current
        last = group.last_result if group else None
        if last is None:
            self._log.set_state(
                run.run_id,
                RunState.FAILED,
                int(self._clock.now() * 1000),
                error="a parallel branch answered 2xx without publishing its result",
                only_if_running=True,
            )
            self._driver.succeed(ref.task_token, {"action": Action.STALLED.value})
            return None
        return last

    def _ignore(self, ref: WorkflowRef, cause: str) -> None:
        # On AWS the stopped execution's token is gone and this is a no-op; emulators that keep a
        # stopped execution's task waiting (moto) are released by it. An answer, not a failure:
        # moto then sees the stop at the next state (ABORTED, as on AWS); an execution that was
        # not stopped ends in the Canceled state.
        assert ref.task_token
        log.info("run driver task released: %s", cause)
        self._driver.succeed(ref.task_token, {"action": Action.CANCELED.value})

    def _resolve(
        self, run: Run, messages: list[RunMessage], current: RunMessage, ref: WorkflowRef
    ) -> Envelope:
        stored = current.envelope
        headers = {k: v for k, v in stored.headers.items() if k.lower() not in _NOT_REPLAYED}
        update: dict[str, object] = {
            "workflow": ref,
            # The driver already waited (Wait state): due now. Callbacks are built here, per run.
            "not_before": stored.created_at,
            "callback": None,
            "failure_callback": None,
        }
        if current.kind in (MessageKind.INITIAL, MessageKind.STEP):
            update["body"] = delivery_body(messages, current.seq).decode()
            update["body_encoding"] = "utf8"
            update["destination"] = run.url
            update["headers"] = {**headers, RUN_ID_HEADER: run.run_id, "Content-Type": "application/json"}
        else:
            update["headers"] = headers
        return stored.model_copy(update=update)

    def _report(
        self, run_id: str, current: RunMessage, message: QueuedMessage, report: DeliveryReport
    ) -> None:
        token = message.envelope.workflow.task_token if message.envelope.workflow else None
        assert token
        now_ms = int(self._clock.now() * 1000)
        outcome = report.outcome
        if outcome in (Outcome.RETRY_SCHEDULED, Outcome.REQUEUED):
            return  # the same Task message comes back for the next attempt
        if outcome is Outcome.CANCELED:
            self._driver.fail(token, error=CANCELED_ERROR, cause="message cancelled")
            return
        if current.kind is MessageKind.CALL and outcome in (Outcome.DELIVERED, Outcome.DEAD_LETTERED):
            # A call's final answer, success or not, goes back to the workflow as its callback.
            self._append_callback(run_id, current, report, now_ms)
        elif outcome is Outcome.DEAD_LETTERED:
            self._fail_run(run_id, current, report, now_ms)
            self._driver.fail(token, error=STEP_FAILED_ERROR, cause=report.reason or "step failed")
            return
        run = self._log.get_run(run_id)
        if run is None or run.state not in (RunState.RUNNING, RunState.SUCCESS):
            assert message.envelope.workflow is not None
            self._ignore(message.envelope.workflow, "the run ended while its step was in flight")
            return
        if message.envelope.workflow and message.envelope.workflow.branch:
            self._driver.succeed(token, BRANCH_DONE)  # Join goes on once every branch answered
            return
        messages = self._log.messages(run_id)
        position = driver_position(messages, current)
        action = next_action(run, messages, position, now_ms)
        # The run-log positions this execution moved past since its last report: a Join moved
        # past the whole parallel group (the branches' reports are no positions).
        joined = bool(message.envelope.workflow and message.envelope.workflow.join)
        group = parallel_group(messages, current) if joined else None
        moved_from = group.plans[0].seq if group else position
        if action["action"] == Action.STALLED.value:
            self._log.set_state(
                run_id, RunState.FAILED, now_ms, error="no next step after a 2xx", only_if_running=True
            )
        elif action["action"] in (Action.DELIVER.value, Action.WAIT.value, Action.PARALLEL.value):
            action = self._continued(run, messages, moved_from, action)
        self._driver.succeed(token, action)

    def _continued(
        self, run: Run, messages: Sequence[RunMessage], position: int, action: dict[str, Any]
    ) -> dict[str, Any]:
        """Past MESSAGES_PER_EXECUTION, the next action starts a new execution of the same run
        (25,000-event history limit) and this one finishes."""
        first = action.get("messageId") or action["messageIds"][0]
        target = next((m for m in messages if m.message_id == first), None)
        if target is None:
            return action
        name = continuation_name(
            run.run_id,
            position,
            driver_position(messages, target),
            workflow_driver.MESSAGES_PER_EXECUTION,
        )
        if name is None:
            return action
        arn = self._driver.start(name, {"runId": run.run_id, "next": action})
        if arn != run.execution:
            self._log.set_execution(run.run_id, arn, run.segment + 1)
        log.info("run %s continues in execution %s", run.run_id, name)
        return {"action": Action.FINISH.value}

    def _append_callback(self, run_id: str, call: RunMessage, report: DeliveryReport, now_ms: int) -> None:
        spec = call.envelope.callback
        if spec is None or report.result is None:
            return
        callback = callback_envelope(
            call.envelope,
            spec,
            report.result,
            retried=report.retried,
            message_id=new_message_id(),
            now_ms=now_ms,
            kind="callback",
            default_timeout=self._default_timeout,
        )
        # The callback is no step array and must not carry the SDK version header.
        callback = callback.model_copy(
            update={
                "headers": {**callback.headers, RUN_ID_HEADER: run_id},
                "max_retries": call.envelope.max_retries,
            }
        )
        try:
            stored = self._log.append(
                run_id,
                RunMessage(
                    seq=-1,
                    message_id=callback.id,
                    kind=MessageKind.CALLBACK,
                    envelope=callback,
                    dedup_key="K" + call.dedup_key,
                ),
            )
        except RunClosed:
            return
        if stored.message_id == callback.id:
            self._history.message_created(callback, LogEvent.of(callback, State.CREATED, now_ms))

    def _fail_run(self, run_id: str, current: RunMessage, report: DeliveryReport, now_ms: int) -> None:
        if not self._log.set_state(
            run_id, RunState.FAILED, now_ms, error=report.reason, only_if_running=True
        ):
            return
        run = self._log.get_run(run_id)
        if run is not None:
            self._waits.invoked_run_ended(run, body=None, failed=True, canceled=False)
        initial = next((m for m in self._log.messages(run_id) if m.kind is MessageKind.INITIAL), None)
        # The JS SDK (1.3.3) sends a trigger's failure callback with the first message only: as on
        # Upstash, it holds for the whole run.
        spec = current.envelope.failure_callback or (initial.envelope.failure_callback if initial else None)
        if spec is None:
            return
        result = report.result or AttemptResult(status=None)
        failure = callback_envelope(
            current.envelope,
            spec,
            result,
            retried=report.retried,
            message_id=new_message_id(),
            now_ms=now_ms,
            kind="failure_callback",
            default_timeout=self._default_timeout,
        )
        body = failure_body(
            status=result.status,
            headers=result.headers,
            body=result.body,
            url=current.envelope.destination,
            initial=initial.envelope.body_bytes() if initial else b"",
            run_id=run_id,
        )
        failure = failure.model_copy(
            update={"body": json.dumps(body), "headers": {**failure.headers, RUN_ID_HEADER: run_id}}
        )
        # The failure function is called once, as an ordinary message: signed, retried, logged.
        self._history.message_created(failure, LogEvent.of(failure, State.CREATED, now_ms))
        self._queue.send(failure, delay_seconds=0)
