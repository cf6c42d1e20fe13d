"""The dead-letter queue: list, get, delete, bulk delete, retry."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import Request, Response

from ferry.api import shapes
from ferry.api.http import json_body, json_response, query_params
from ferry.api.routing import ApiServices, Routes
from ferry.api.shapes import bulk_body
from ferry.domain.errors import InvalidInput
from ferry.domain.queries import Query

routes = Routes()


def _selection(event: Any) -> tuple[list[str], Query]:
    """DLQ ids from a JSON body (Python SDK) or the query (JS SDK), else the filters."""
    params = query_params(event)
    body = json_body(event) or {}
    if not isinstance(body, dict):
        raise InvalidInput('the body must be a JSON object like {"dlqIds": [...]}', field="body")
    ids = [str(i) for i in body.get("dlqIds") or []]
    ids += [i for i in params.get("dlqIds", "").split(",") if i]
    return ids, Query.parse({k: v for k, v in params.items() if k != "dlqIds"}, max_count=100)


@routes.get("/v2/dlq")
def list_dlq(request: Request, svc: ApiServices) -> Response:
    query = Query.parse(query_params(request.resolved_event), max_count=100)
    entries, cursor = svc.dead_letters.list(query)
    body: dict[str, object] = {"messages": [shapes.dlq_message(e) for e in entries]}
    if cursor:
        body["cursor"] = cursor
    return json_response(body)


@routes.get("/v2/dlq/<dlq_id>")
def get_dlq(dlq_id: str, svc: ApiServices) -> Response:
    return json_response(shapes.dlq_message(svc.dead_letters.get(dlq_id)))


@routes.delete("/v2/dlq/<dlq_id>")
def delete_dlq(dlq_id: str, svc: ApiServices) -> Response:
    svc.dead_letters.delete(dlq_id)
    return json_response({"deleted": 1})


@routes.delete("/v2/dlq")
def delete_many_dlq(request: Request, svc: ApiServices) -> Response:
    ids, query = _selection(request.resolved_event)
    dead_letters = svc.dead_letters
    run = dead_letters.delete_many(dead_letters.select(ids=ids, query=query))
    return json_response(bulk_body({"deleted": len(run.results)}, run))


@routes.post("/v2/dlq/retry")
def retry_many_dlq(request: Request, svc: ApiServices) -> Response:
    ids, query = _selection(request.resolved_event)
    dead_letters = svc.dead_letters
    headers = request.resolved_event.headers
    run = dead_letters.retry_many(dead_letters.select(ids=ids, query=query), headers)
    return json_response(bulk_body({"responses": [r.to_body() for r in run.results]}, run), status=201)


@routes.post("/v2/dlq/retry/<dlq_id>")
def retry_dlq(dlq_id: str, request: Request, svc: ApiServices) -> Response:
    result = svc.dead_letters.retry(dlq_id, request.resolved_event.headers)
    return json_response(result.to_body(), status=201)
