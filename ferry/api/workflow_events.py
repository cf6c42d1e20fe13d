"""Workflow waits: `POST /v2/wait/{eventId}` (the JS SDK's `waitForEvent`), `POST
/v2/notify/{eventId}` (wake the runs waiting for an event; kept for the lookback), `POST
/v2/notify/{runId}/{eventId}` (the same for one run), and `GET
/v2/waiters/{eventId}` (who waits). docs/workflows.md describes the lookback."""

from __future__ import annotations

import json
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Request, Response
from aws_lambda_powertools.event_handler.openapi.params import Body
from pydantic import Field

from ferry.api.http import json_response, raw_body, request_headers
from ferry.api.requests import JsonBody
from ferry.api.routing import ApiServices, Routes
from ferry.domain.durations import parse_duration
from ferry.domain.errors import InvalidInput, NotFound
from ferry.usecases.workflow_runs import EventWait
from ferry.usecases.workflow_waits import WorkflowWaits, event_text

routes = Routes()


class WaitStep(JsonBody):
    stepId: int = Field(ge=1)
    stepType: str
    stepName: str
    concurrent: int = 1
    targetStep: int | None = None


class WaitRequest(JsonBody):
    """What `LazyWaitEventStep.getBody` of @upstash/workflow 1.3.3 sends."""

    url: str = Field(min_length=1)
    timeout: str = "7d"
    timeoutBody: Any = None
    timeoutUrl: str | None = None
    timeoutHeaders: dict[str, list[str]] = Field(default_factory=dict)
    step: WaitStep


def _waits(svc: Any) -> WorkflowWaits:
    if svc.workflow_runs is None:
        raise NotFound("workflows are not configured in this deployment (no run driver)")
    return svc.workflow_waits


@routes.post("/v2/wait/<event_id>")
def wait_for_event(
    event_id: str, request: Request, svc: ApiServices, wait: Annotated[WaitRequest, Body()]
) -> Response[Any]:
    _waits(svc)
    timeout = parse_duration(wait.timeout, field="timeout")
    if timeout < 1:
        raise InvalidInput("timeout must be at least 1s", field="timeout")
    step = {
        "stepId": wait.step.stepId,
        "stepName": wait.step.stepName,
        "stepType": wait.step.stepType,
        "waitEventId": event_id,
        "timeout": wait.timeout,
        "concurrent": wait.step.concurrent,
    }
    headers = request_headers(request.resolved_event)
    if "upstash-workflow-runid" not in headers:
        raise InvalidInput("a wait needs the Upstash-Workflow-RunId header", field="Upstash-Workflow-RunId")
    result = svc.publish(
        destination=wait.url,
        headers=headers,
        body=json.dumps(step).encode(),
        caller_ip=request.resolved_event.request_context.http.source_ip,
        event_wait=EventWait(event_id=event_id, timeout_seconds=timeout),
    )
    return json_response({"messageId": result.message_id})


@routes.post("/v2/notify/<event_id>")
def notify(event_id: str, request: Request, svc: ApiServices) -> Response[Any]:
    data = event_text(raw_body(request.resolved_event))
    return json_response(_waits(svc).notify(event_id, data))


@routes.post("/v2/notify/<run_id>/<event_id>")
def notify_run(run_id: str, event_id: str, request: Request, svc: ApiServices) -> Response[Any]:
    """Only `run_id`'s wait; kept for the lookback when that run does not wait yet."""
    data = event_text(raw_body(request.resolved_event))
    return json_response(_waits(svc).notify(event_id, data, run_id=run_id))


@routes.get("/v2/waiters/<event_id>")
def waiters(event_id: str, svc: ApiServices) -> Response[Any]:
    return json_response(list(_waits(svc).waiters(event_id)))
