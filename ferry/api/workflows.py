"""Workflow runs: the Upstash Workflow routes (`/v2/workflows/runs/{id}`, logs, events) and the
Ferry extensions (list, get with the step timeline, redrive), documented in docs/workflows.md."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from aws_lambda_powertools.event_handler import Request, Response
from aws_lambda_powertools.event_handler.openapi.params import Query
from pydantic import BaseModel, ConfigDict, Field

from ferry.api.http import json_response, raw_body
from ferry.api.requests import DECIMAL_TEXT
from ferry.api.routing import ApiServices, Routes
from ferry.domain.errors import NotFound
from ferry.usecases.workflow_runs import WorkflowRuns, run_summary

routes = Routes()


class _Query(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class DeleteRunQuery(_Query):
    cancel: Literal["true", "false"] = "true"


class BulkCancelQuery(_Query):
    workflowRunIds: str = Field(min_length=1)


class ListRunsQuery(_Query):
    workflowRunId: str | None = None
    state: Literal["RUN_STARTED", "RUN_SUCCESS", "RUN_FAILED", "RUN_CANCELED"] | None = None
    workflowUrl: str | None = None
    fromDate: Annotated[int, Field(ge=0), DECIMAL_TEXT] | None = None
    toDate: Annotated[int, Field(ge=0), DECIMAL_TEXT] | None = None
    cursor: str | None = None
    count: Annotated[int, Field(ge=1, le=1000), DECIMAL_TEXT] = 100
    groupBy: Literal["workflowRunId"] | None = None


def _runs(svc: Any) -> WorkflowRuns:
    runs = svc.workflow_runs
    if runs is None:
        raise NotFound("workflows are not configured in this deployment (no run driver)")
    return runs


@routes.delete("/v2/workflows/runs/<run_id>")
def delete_run(
    run_id: str, request: Request, svc: ApiServices, query: Annotated[DeleteRunQuery, Query()]
) -> Response[Any]:
    if query.cancel == "false":
        # The SDK's "function returned" signal; the JS SDK sends the return value (for invoke).
        result = raw_body(request.resolved_event).decode("utf-8", "replace") or None
        _runs(svc).finish(run_id, result)
        return json_response({})
    return json_response({"cancelled": _runs(svc).cancel(run_id)})


@routes.delete("/v2/workflows/runs")
def cancel_runs(svc: ApiServices, query: Annotated[BulkCancelQuery, Query()]) -> Response[Any]:
    ids = [i for i in query.workflowRunIds.split(",") if i]
    return json_response({"cancelled": _runs(svc).cancel_many(ids)})


@routes.get("/v2/workflows/runs/<run_id>")
def get_run(run_id: str, svc: ApiServices) -> Response[Any]:
    run, messages = _runs(svc).get(run_id)
    # One read of each message's events; its state is the latest of them (History.state's rule),
    # not a second read per message.
    events = {m.message_id: svc.history.events(m.message_id) for m in messages}
    states = {message_id: str(found[-1].state) for message_id, found in events.items() if found}
    return json_response(run_summary(run, messages, states, events))


@routes.post("/v2/workflows/runs/<run_id>/redrive")
def redrive_run(run_id: str, svc: ApiServices) -> Response[Any]:
    run = _runs(svc).redrive(run_id)
    return json_response(
        {"workflowRunId": run.run_id, "workflowState": run.state.value, "executionArn": run.execution}
    )


def _list(svc: Any, query: ListRunsQuery) -> Response[Any]:
    runs_uc = _runs(svc)
    if query.workflowRunId:
        run, messages = runs_uc.get(query.workflowRunId)
        return json_response({"runs": [run_summary(run, messages)], "cursor": None})
    runs, cursor = runs_uc.list(
        limit=query.count,
        cursor=query.cursor,
        state=query.state,
        url=query.workflowUrl,
        since_ms=query.fromDate,
        until_ms=query.toDate,
    )
    return json_response(
        {"runs": [run_summary(r, list(runs_uc.get(r.run_id)[1])) for r in runs], "cursor": cursor}
    )


@routes.get("/v2/workflows/logs")
def logs(svc: ApiServices, query: Annotated[ListRunsQuery, Query()]) -> Response[Any]:
    return _list(svc, query)


@routes.get("/v2/workflows/events")
def events(svc: ApiServices, query: Annotated[ListRunsQuery, Query()]) -> Response[Any]:
    return _list(svc, query)


@routes.get("/v2/workflows/runs")
def list_runs(svc: ApiServices, query: Annotated[ListRunsQuery, Query()]) -> Response[Any]:
    return _list(svc, query)
