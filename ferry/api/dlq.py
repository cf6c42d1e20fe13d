"""The dead-letter queue: list, get, delete, bulk delete, retry."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Request, Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Query

from ferry.api import shapes
from ferry.api.http import json_response, refuse_null_body
from ferry.api.requests import DlqFilters, DlqIds
from ferry.api.routing import ApiServices, Routes
from ferry.api.shapes import bulk_body
from ferry.domain.queries import Query as Selection

routes = Routes()
MAX_PAGE = 100


def _selection(request: Request, filters: DlqFilters, body: DlqIds | None) -> tuple[list[str], Selection]:
    """DLQ ids from a JSON body (Python SDK) or the query (JS SDK), else the filters (no body and
    no ids: every entry matching them, as `dlq.delete({all: true})` sends it)."""
    refuse_null_body(request, body)
    ids = [*(body.dlqIds if body else ()), *(filters.dlqIds or ())]
    return ids, filters.model_copy(update={"dlqIds": None}).to_query(max_count=MAX_PAGE)


@routes.get("/v2/dlq")
def list_dlq(svc: ApiServices, filters: Annotated[DlqFilters, Query()]) -> Response[Any]:
    entries, cursor = svc.dead_letters.list(filters.to_query(max_count=MAX_PAGE))
    body: dict[str, object] = {"messages": [shapes.dlq_message(e) for e in entries]}
    if cursor:
        body["cursor"] = cursor
    return json_response(body)


@routes.get("/v2/dlq/<dlq_id>")
def get_dlq(dlq_id: str, svc: ApiServices) -> Response[Any]:
    return json_response(shapes.dlq_message(svc.dead_letters.get(dlq_id)))


@routes.delete("/v2/dlq/<dlq_id>")
def delete_dlq(dlq_id: str, svc: ApiServices) -> Response[Any]:
    svc.dead_letters.delete(dlq_id)
    return json_response({"deleted": 1})


@routes.delete("/v2/dlq")
def delete_many_dlq(
    request: Request,
    svc: ApiServices,
    filters: Annotated[DlqFilters, Query()],
    body: Annotated[DlqIds | None, Body()] = None,
) -> Response[Any]:
    ids, query = _selection(request, filters, body)
    dead_letters = svc.dead_letters
    run = dead_letters.delete_many(dead_letters.select(ids=ids, query=query))
    return json_response(bulk_body({"deleted": len(run.results)}, run))


@routes.post("/v2/dlq/retry")
def retry_many_dlq(
    request: Request,
    svc: ApiServices,
    filters: Annotated[DlqFilters, Query()],
    body: Annotated[DlqIds | None, Body()] = None,
) -> Response[Any]:
    ids, query = _selection(request, filters, body)
    dead_letters = svc.dead_letters
    headers = request.resolved_event.headers
    run = dead_letters.retry_many(dead_letters.select(ids=ids, query=query), headers)
    return json_response(bulk_body({"responses": [r.to_body() for r in run.results]}, run), status=201)


@routes.post("/v2/dlq/retry/<dlq_id>")
def retry_dlq(dlq_id: str, request: Request, svc: ApiServices) -> Response[Any]:
    result = svc.dead_letters.retry(dlq_id, request.resolved_event.headers)
    return json_response(result.to_body(), status=201)
