"""The dead-letter queue: list, get, delete, bulk delete, retry."""

from __future__ import annotations

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router

from ferry.api import shapes
from ferry.api.http import json_body, json_response, query_params
from ferry.api.shapes import bulk_body
from ferry.domain.errors import InvalidInput
from ferry.domain.queries import Query
from ferry.wiring import services

router = Router()


def _selection() -> tuple[list[str], Query]:
    """DLQ ids from a JSON body (Python SDK) or the query (JS SDK), else the filters."""
    event = router.current_event
    params = query_params(event)
    body = json_body(event) or {}
    if not isinstance(body, dict):
        raise InvalidInput('the body must be a JSON object like {"dlqIds": [...]}', field="body")
    ids = [str(i) for i in body.get("dlqIds") or []]
    ids += [i for i in params.get("dlqIds", "").split(",") if i]
    return ids, Query.parse({k: v for k, v in params.items() if k != "dlqIds"}, max_count=100)


@router.get("/v2/dlq")
def list_dlq() -> Response:
    query = Query.parse(query_params(router.current_event), max_count=100)
    entries, cursor = services().dead_letters.list(query)
    body: dict[str, object] = {"messages": [shapes.dlq_message(e) for e in entries]}
    if cursor:
        body["cursor"] = cursor
    return json_response(body)


@router.get("/v2/dlq/<dlq_id>")
def get_dlq(dlq_id: str) -> Response:
    return json_response(shapes.dlq_message(services().dead_letters.get(dlq_id)))


@router.delete("/v2/dlq/<dlq_id>")
def delete_dlq(dlq_id: str) -> Response:
    services().dead_letters.delete(dlq_id)
    return json_response({"deleted": 1})


@router.delete("/v2/dlq")
def delete_many_dlq() -> Response:
    ids, query = _selection()
    dead_letters = services().dead_letters
    run = dead_letters.delete_many(dead_letters.select(ids=ids, query=query))
    return json_response(bulk_body({"deleted": len(run.results)}, run))


@router.post("/v2/dlq/retry")
def retry_many_dlq() -> Response:
    ids, query = _selection()
    dead_letters = services().dead_letters
    headers = router.current_event.headers
    run = dead_letters.retry_many(dead_letters.select(ids=ids, query=query), headers)
    return json_response(bulk_body({"responses": [r.to_body() for r in run.results]}, run), status=201)


@router.post("/v2/dlq/retry/<dlq_id>")
def retry_dlq(dlq_id: str) -> Response:
    result = services().dead_letters.retry(dlq_id, router.current_event.headers)
    return json_response(result.to_body(), status=201)
