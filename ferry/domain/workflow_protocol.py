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

from ferry.domain.envelope import Envelope
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


def parse_workflow_headers(headers: Mapping[str, str]) -> WorkflowHeaders | None:
    """None for an ordinary publish; the control headers for a workflow publish; 400 if malformed."""
    run_id = _header(headers, RUN_ID_HEADER)
    url = _header(headers, URL_HEADER) or ""
    call_type = _header(headers, CALL_TYPE_HEADER)
    if run_id is None and call_type == "toCallback":
        # The JS SDK sends a call's workflow headers only in their callback form.
        run_id = _header(headers, "Upstash-Callback-Workflow-RunId")
        url = _header(headers, "Upstash-Callback-Workflow-Url") or ""
    if run_id is None:
        return None
    if not RUN_ID.match(run_id):
        raise InvalidInput(
            f"{RUN_ID_HEADER}: {run_id!r} must be 1-64 letters, digits, '-' or '_'", field=RUN_ID_HEADER
        )
    init = (_header(headers, INIT_HEADER) or "false").lower()
    if init not in ("true", "false"):
        raise InvalidInput(f"{INIT_HEADER}: {init!r} is not true or false", field=INIT_HEADER)
    if not url.startswith(("http://", "https://")):
        raise InvalidInput(f"{URL_HEADER}: {url!r} is not an http(s) URL", field=URL_HEADER)
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
        step_id = int(step["stepId"])
        name = str(step["stepName"])
        step_type = str(step["stepType"])
    except (ValueError, KeyError, TypeError):
        raise InvalidInput(
            "a workflow step message must be JSON with stepId, stepName and stepType", field="body"
        ) from None
    target = step.get("targetStep")
    return StepInfo(step_id, name, step_type, int(target) if isinstance(target, int) else None)


def call_step_key(headers: Mapping[str, str]) -> str:
    """A call is one per step id too (a duplicate call would hit the third party twice)."""
    step_id = _header(headers, "Upstash-Callback-Forward-Upstash-Workflow-StepId") or "?"
    return f"C{step_id}"


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
    FINISH = "finish"
    STALLED = "stalled"


def next_action(run: Run, messages: Sequence[RunMessage], after_seq: int, now_ms: int) -> dict[str, Any]:
    """What the run driver does after the delivery of message `after_seq` succeeded. Only ids and
    times go into Step Functions state: step results stay in the run log (256 KiB state limit)."""
    following = [m for m in messages if m.seq > after_seq]
    if following:
        message = following[0]
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


def failure_body(
    *, status: int | None, headers: Mapping[str, str], body: bytes, url: str, initial: bytes, run_id: str
) -> dict[str, Any]:
    """The failure-callback body the SDKs parse: the last answer, and the run's *initial* payload
    as `sourceBody` (what the `InitialBody` feature flag asks for)."""
    return {
        "status": status or 0,
        "header": {k: [v] for k, v in headers.items()},
        "body": base64.b64encode(body[:256_000]).decode(),
        "url": url,
        "sourceBody": base64.b64encode(initial).decode(),
        "workflowRunId": run_id,
    }
