"""The Upstash Workflow wire protocol, as plain logic (shared/reference/workflow-platforms.md §2).

The SDKs publish every step result as a message addressed to their own URL, carrying raw
`Upstash-Workflow-*` control headers. This module classifies such a publish, reads the step it
carries, builds the JSON step array a delivery to the workflow URL must have, and decides what the
run driver does after a delivery. No I/O: the use cases feed it records and act on its answers.
"""

from __future__ import annotations

import base64
import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from ferry.domain.destination import check_destination
from ferry.domain.envelope import Envelope, RedactSpec
from ferry.domain.errors import InvalidInput

RUN_ID_HEADER = "Upstash-Workflow-RunId"
INIT_HEADER = "Upstash-Workflow-Init"
URL_HEADER = "Upstash-Workflow-Url"
CALL_TYPE_HEADER = "Upstash-Workflow-CallType"
SDK_VERSION_HEADER = "Upstash-Workflow-Sdk-Version"
# Run ids become Step Functions execution names (<= 80 characters, no whitespace or `:/`), with
# room for a segment suffix when a run continues in a new execution.
RUN_ID = re.compile(r"^[A-Za-z0-9_\-]{1,64}$")


class MessageKind(StrEnum):
    INITIAL = "initial"  # the run's first message: its body is the initial payload
    STEP = "step"  # a step result published by the SDK (run, sleep, call result, ...)
    CALL = "call"  # `context.call`: delivered to the third-party URL, not to the workflow
    CALLBACK = "callback"  # the outcome of a call, delivered to the workflow URL (not an array)
    # `waitForEvent` or `invoke`: a step whose result comes from outside (a notify, its timeout,
    # the invoked run's end). Never delivered itself; its resolution is a STEP delivered in its place.
    WAIT = "wait"


class RunState(StrEnum):
    RUNNING = "RUN_STARTED"
    SUCCESS = "RUN_SUCCESS"
    FAILED = "RUN_FAILED"
    CANCELED = "RUN_CANCELED"


ACTIVE_STATES = frozenset({RunState.RUNNING})


@dataclass(frozen=True)
class WorkflowHeaders:
    """The control headers of one workflow publish."""

    run_id: str
    init: bool
    url: str
    call_type: str | None

    @property
    def kind(self) -> MessageKind:
        if self.init:
            return MessageKind.INITIAL
        if self.call_type == "toCallback":
            return MessageKind.CALL
        return MessageKind.STEP


def _header(headers: Mapping[str, str], name: str) -> str | None:
    lowered = name.lower()
    for key, value in headers.items():
        if key.lower() == lowered:
            return value.strip()
    return None


def parse_workflow_headers(
    headers: Mapping[str, str], *, allow_private: bool = False
) -> WorkflowHeaders | None:
    """None for an ordinary publish; the control headers for a workflow publish; 400 if malformed.
    The workflow's URL receives every later step: it passes the destination rule (SSRF) as the
    publish's own destination does (`allow_private`: only `ferry dev`)."""
    run_id = _header(headers, RUN_ID_HEADER)
    url = _header(headers, URL_HEADER) or ""
    call_type = _header(headers, CALL_TYPE_HEADER)
    if run_id is None and call_type == "toCallback":
        # The JS SDK sends a call's workflow headers only in their callback form.
        run_id = _header(headers, "Upstash-Callback-Workflow-RunId")
        url = _header(headers, "Upstash-Callback-Workflow-Url") or ""
    if run_id is None:
        return None
    if not RUN_ID.fullmatch(run_id):
        raise InvalidInput(
            f"{RUN_ID_HEADER}: {run_id!r} must be 1-64 letters, digits, '-' or '_'", field=RUN_ID_HEADER
        )
    init = (_header(headers, INIT_HEADER) or "false").lower()
    if init not in ("true", "false"):
        raise InvalidInput(f"{INIT_HEADER}: {init!r} is not true or false", field=INIT_HEADER)
    if not url.startswith(("http://", "https://")):
        raise InvalidInput(f"{URL_HEADER}: {url!r} is not an http(s) URL", field=URL_HEADER)
    check_destination(url, allow_private=allow_private, field=URL_HEADER)
    return WorkflowHeaders(run_id=run_id, init=init == "true", url=url, call_type=call_type)


@dataclass(frozen=True)
class StepInfo:
    step_id: int | None
    step_name: str
    step_type: str
    target_step: int | None = None

    @property
    def dedup_key(self) -> str:
        """One copy per step: a plan step (id 0) is one per target, a result one per step id."""
        if self.step_id == 0 and self.target_step is not None:
            return f"P{self.target_step}"
        return f"S{self.step_id}"


def step_info(kind: MessageKind, envelope: Envelope) -> StepInfo | None:
    """What step a message carries (None for the initial payload)."""
    if kind is MessageKind.INITIAL:
        return None
    if kind in (MessageKind.CALL, MessageKind.CALLBACK):
        # The step travels in the callback's forwarded headers (`Upstash-Callback-Forward-...`).
        return None
    try:
        step = json.loads(envelope.body_bytes())
        step_id, name = step_id_and_name(step)
        step_type = step["stepType"]
        if not isinstance(step_type, str):
            raise TypeError("stepType is a string")
    except (ValueError, KeyError, TypeError):
        raise InvalidInput(
            "a workflow step message must be JSON with stepId (a whole number from 0), stepName and "
            "stepType (strings)",
            field="body",
        ) from None
    target = step.get("targetStep")
    return StepInfo(step_id, name, step_type, target if _is_whole(target) else None)


def _is_whole(value: object) -> bool:
    return type(value) is int and value >= 0  # (not bool, which is an int to Python)


def step_id_and_name(step: object) -> tuple[int, str]:
    """A step's id and name as the SDKs send them (a JSON number from 0, a string); TypeError
    (KeyError if missing) otherwise. Coercing would make `true`, `"1_0"` or `2.9` a step id (and
    `true` the same step as 1: one dedup key for two steps), and `null` the name "None"."""
    if not isinstance(step, dict):
        raise TypeError("a step is a JSON object")
    step_id, name = step["stepId"], step["stepName"]
    if not _is_whole(step_id) or not isinstance(name, str):
        raise TypeError("stepId is a whole number from 0 and stepName a string")
    return step_id, name


def call_step_key(headers: Mapping[str, str]) -> str:
    """A call is one per step id too (a duplicate call would hit the third party twice)."""
    step_id = _header(headers, "Upstash-Callback-Forward-Upstash-Workflow-StepId") or "?"
    return f"C{step_id}"


@dataclass(frozen=True)
class WaitInfo:
    """What a WAIT message waits for: an event (until a deadline) or the end of an invoked run."""

    event_id: str | None = None
    deadline_ms: int | None = None
    child_run_id: str | None = None


@dataclass(frozen=True)
class Waiter:
    """One run waiting for an event (what `GET /v2/waiters/{eventId}` lists)."""

    event_id: str
    run_id: str
    wait_id: str
    url: str
    created_ms: int
    deadline_ms: int


@dataclass(frozen=True)
class RunMessage:
    """One message of a run, in the order the server accepted it."""

    seq: int
    message_id: str
    kind: MessageKind
    envelope: Envelope
    dedup_key: str
    step: StepInfo | None = None
    # Set when the publish carried Upstash-Not-Before (sleepUntil), for a Wait on a timestamp.
    not_before_header: bool = False
    wait: WaitInfo | None = None  # on WAIT messages
    resolves: str | None = None  # on the STEP that resolves a WAIT: the WAIT's message id


@dataclass(frozen=True)
class Run:
    run_id: str
    url: str
    state: RunState
    created_at: int
    updated_at: int
    execution: str = ""
    segment: int = 1
    failure_url: str | None = None
    error: str | None = None
    labels: tuple[str, ...] = ()
    # The start's `Upstash-Redact-Fields` (the SDKs send it with the first message only): it
    # holds for every message of the run.
    redact: RedactSpec | None = None
    # Set on a run started by `context.invoke`: its end resolves this WAIT of the parent run.
    parent_run_id: str | None = None
    parent_wait_id: str | None = None
    # The start's own `Upstash-Retries` / `Upstash-Retry-Delay` (JS `client.trigger({retries,
    # retryDelay})`): the SDKs ask for `WF_TriggerOnConfig`, trigger-time configuration for the
    # whole run, so a step published without its own takes these.
    step_retries: int | None = None
    step_retry_delay: str | None = None


def delivery_body(messages: Sequence[RunMessage], upto_seq: int) -> bytes:
    """The JSON step array for a delivery of message `upto_seq` to the workflow URL: the initial
    payload, then every step message accepted up to and including it, one copy per step."""
    items: list[dict[str, Any]] = []
    for message in messages:
        if message.seq > upto_seq:
            break
        if message.kind not in (MessageKind.INITIAL, MessageKind.STEP):
            continue  # the SDK ignores non-step items; leaving them out keeps the body small
        items.append(
            {
                "messageId": message.message_id,
                "body": base64.b64encode(message.envelope.body_bytes()).decode(),
                "callType": "step",
            }
        )
    return json.dumps(items).encode()


class Action(StrEnum):
    DELIVER = "deliver"
    # Deliver the plan steps `messageIds` at once (the driver's Map), then Join.
    PARALLEL = "parallel"
    WAIT = "wait"
    FINISH = "finish"
    STALLED = "stalled"
    CANCELED = "canceled"  # only ever sent to a stopped execution's waiting task


# A wait without a deadline (an invoke) still needs a Task timeout; Standard executions last a year.
NO_DEADLINE_SECONDS = 365 * 86_400


def driver_position(messages: Sequence[RunMessage], current: RunMessage) -> int:
    """Where the driver is after delivering `current`: a wait's resolution is delivered in the
    place of its WAIT (it was appended later, behind steps the driver has not delivered yet)."""
    if current.resolves:
        wait = next((m for m in messages if m.message_id == current.resolves), None)
        if wait is not None:
            return wait.seq
    return current.seq


@dataclass(frozen=True)
class ParallelGroup:
    """The plan steps one `Promise.all` published (one batch: adjacent in the run log, stepId 0,
    a targetStep each) and the result steps stored for them so far, by target."""

    plans: tuple[RunMessage, ...]
    results: Mapping[int, RunMessage]

    @property
    def pending(self) -> list[RunMessage]:
        return [p for p in self.plans if p.step and p.step.target_step not in self.results]

    @property
    def last_result(self) -> RunMessage | None:
        """The result the SDK must get to go on: the array up to it holds every branch's plan and
        result (its "last" state); any shorter array is "partial" or "discard"."""
        if self.pending or not self.results:
            return None
        return max(self.results.values(), key=lambda m: m.seq)


def _is_plan(message: RunMessage) -> bool:
    return bool(message.step and message.step.step_id == 0 and message.step.target_step is not None)


def parallel_group(messages: Sequence[RunMessage], message: RunMessage) -> ParallelGroup | None:
    """The group of `message` (one of its plan or result steps) when its branches are all `run`
    steps, which the driver delivers at once; None otherwise. Branches that sleep, call, wait or
    invoke have steps of their own between plan and result: those stay one after another."""
    step = message.step
    if step is None or message.kind is not MessageKind.STEP:
        return None
    if not _is_plan(message):
        targeting = (m for m in messages if _is_plan(m) and m.step and m.step.target_step == step.step_id)
        plan = next(targeting, None)
        if plan is None:
            return None
        message = plan
    index = next(i for i, m in enumerate(messages) if m.message_id == message.message_id)
    start, end = index, index + 1
    while start > 0 and _is_plan(messages[start - 1]):
        start -= 1
    while end < len(messages) and _is_plan(messages[end]):
        end += 1
    plans = tuple(messages[start:end])
    if len(plans) < 2 or any(p.step is None or p.step.step_type != "Run" for p in plans):
        return None
    targets = {p.step.target_step for p in plans if p.step}
    results = {
        m.step.step_id: m
        for m in messages
        if m.kind is MessageKind.STEP and m.step and m.step.step_id in targets and not _is_plan(m)
    }
    return ParallelGroup(plans, results)


def next_action(run: Run, messages: Sequence[RunMessage], after_seq: int, now_ms: int) -> dict[str, Any]:
    """What the run driver does after the delivery at position `after_seq` succeeded. Only ids and
    times go into Step Functions state: step results stay in the run log (256 KiB state limit)."""
    resolutions = {m.resolves: m for m in messages if m.resolves}
    for message in messages:
        if message.seq <= after_seq or message.resolves:
            continue
        group = parallel_group(messages, message)
        if group is not None:
            if group.pending:
                return {"action": Action.PARALLEL.value, "messageIds": [p.message_id for p in group.pending]}
            last = group.last_result
            assert last is not None
            if last.seq > after_seq:
                return {"action": Action.DELIVER.value, "messageId": last.message_id}
            continue
        if message.kind is MessageKind.WAIT:
            resolution = resolutions.get(message.message_id)
            if resolution is not None:
                return {"action": Action.DELIVER.value, "messageId": resolution.message_id}
            deadline = message.wait.deadline_ms if message.wait else None
            seconds = NO_DEADLINE_SECONDS
            if deadline is not None:
                seconds = max(1, math.ceil((deadline - now_ms) / 1000))
            return {"action": Action.WAIT.value, "messageId": message.message_id, "timeoutSeconds": seconds}
        action: dict[str, Any] = {"action": Action.DELIVER.value, "messageId": message.message_id}
        remaining = message.envelope.not_before - now_ms
        if message.not_before_header and remaining > 0:
            action["notBefore"] = iso_timestamp(message.envelope.not_before)
        elif remaining > 0:
            action["delaySeconds"] = math.ceil(remaining / 1000)
        return action
    if run.state is RunState.SUCCESS:
        return {"action": Action.FINISH.value}
    return {"action": Action.STALLED.value}


def iso_timestamp(ms: int) -> str:
    import datetime

    moment = datetime.datetime.fromtimestamp(ms / 1000, tz=datetime.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
