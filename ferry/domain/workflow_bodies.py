"""The bodies Ferry writes for the Upstash Workflow SDKs and the one it reads from them: a wait's
and an invoke's result steps, the failure callback's body, and the invoke request a parent run
publishes to its child (shared/reference/workflow-platforms.md §2). Plain logic, no I/O."""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ferry.domain.errors import InvalidInput
from ferry.domain.workflow_protocol import RUN_ID, step_id_and_name


def wait_result_body(skeleton: bytes, *, event_data: str | None) -> str:
    """The step the SDK reads as a `waitForEvent` result: `out` is base64(event data); a wait
    that timed out has no `out` and `waitTimeout: true`."""
    step = json.loads(skeleton)
    if event_data is None:
        step["waitTimeout"] = True
    else:
        step["waitTimeout"] = False
        step["out"] = base64.b64encode(event_data.encode()).decode()
    return json.dumps(step)


def invoke_result_body(skeleton: bytes, *, body: str | None, failed: bool, canceled: bool) -> str:
    """The step the SDK reads as an `invoke` result: `out` is JSON `{body, isFailed, isCanceled}`,
    `body` the invoked workflow's return value as its DELETE carried it."""
    step = json.loads(skeleton)
    step["out"] = json.dumps({"body": body, "isFailed": failed, "isCanceled": canceled})
    return json.dumps(step)


@dataclass(frozen=True)
class InvokeRequest:
    """The body of an invoke publish (`Upstash-Workflow-Invoke: true`), sent to the child URL."""

    parent_run_id: str
    parent_url: str
    parent_headers: dict[str, str]
    step: dict[str, Any]
    body: str


def parse_invoke(raw: bytes) -> InvokeRequest:
    try:
        data = json.loads(raw)
        headers = {str(k): str(v[0] if isinstance(v, list) else v) for k, v in data["headers"].items()}
        step = dict(data["step"])
        step_id_and_name(step)
        body = data.get("body")
        request = InvokeRequest(
            parent_run_id=str(data["workflowRunId"]),
            parent_url=str(data["workflowUrl"]),
            parent_headers=headers,
            step=step,
            body="" if body is None else str(body),
        )
    except (ValueError, KeyError, TypeError, AttributeError, IndexError):
        raise InvalidInput(
            "an invoke (Upstash-Workflow-Invoke: true) must be JSON with workflowRunId, workflowUrl, "
            "headers, step {stepId, stepName} and body",
            field="body",
        ) from None
    if not RUN_ID.fullmatch(request.parent_run_id):
        raise InvalidInput("invoke: workflowRunId is not a run id", field="body")
    return request


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
