"""Publish, enqueue, batch, and message get/cancel."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Request, Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Query

from ferry.api import shapes
from ferry.api.http import json_response, raw_body, refuse_null_body, request_headers
from ferry.api.refusals import forwards_query
from ferry.api.requests import BatchItem, MessageFilters, MessageIds
from ferry.api.routing import ApiServices, Routes
from ferry.api.shapes import bulk_body
from ferry.domain.destination import destination_from_path, is_url
from ferry.domain.errors import FerryError, InvalidInput
from ferry.domain.queues import check_queue_name
from ferry.domain.url_groups import GROUP_NAME
from ferry.usecases.messages import MAX_BULK
from ferry.wiring import Services

routes = Routes()

PUBLISH = "/v2/publish/"
ENQUEUE = "/v2/enqueue/"


def _destination(raw: str, query: str) -> str:
    """An absolute http(s) URL, or the name of a URL group (QStash: anything that is not a URL)."""
    destination = destination_from_path(raw, query)
    if destination and not is_url(destination) and not GROUP_NAME.fullmatch(destination):
        raise InvalidInput(
            f"destination {destination!r} is neither an absolute http(s) URL (it must start with http:// or "
            "https://) nor a URL group name (letters, digits, '-', '_', '.')",
            field="destination",
        )
    return destination


def _publish(
    svc: Services,
    event: Any,
    destination: str,
    headers: dict[str, str],
    body: bytes,
    queue: str | None = None,
) -> Any:
    """The publish response body: an object for a URL, a bare array (one per endpoint) for a group."""
    publish = svc.publish
    caller_ip = event.request_context.http.source_ip
    if destination and not is_url(destination):
        results = publish.to_group(
            group=destination, headers=headers, body=body, caller_ip=caller_ip, queue=queue
        )
        return [r.to_body() for r in results]
    result = publish(destination=destination, headers=headers, body=body, caller_ip=caller_ip, queue=queue)
    return result.to_body()


def _respond(body: Any) -> Response[Any]:
    duplicate = isinstance(body, dict) and body.get("deduplicated")
    return json_response(body, status=202 if duplicate else 200)


@routes.post(PUBLISH + ".+")
@forwards_query
def publish(request: Request, svc: ApiServices) -> Response[Any]:
    event = request.resolved_event
    destination = _destination(event.path[len(PUBLISH) :], event.raw_query_string or "")
    return _respond(_publish(svc, event, destination, request_headers(event), raw_body(event)))


@routes.post(ENQUEUE + ".+")
@forwards_query
def enqueue(request: Request, svc: ApiServices) -> Response[Any]:
    event = request.resolved_event
    queue, _, rest = event.path[len(ENQUEUE) :].partition("/")
    check_queue_name(queue, field="queueName")
    destination = _destination(rest, event.raw_query_string or "")
    return _respond(_publish(svc, event, destination, request_headers(event), raw_body(event), queue=queue))


@routes.post("/v2/batch")
def batch(
    request: Request, svc: ApiServices, items: Annotated[list[BatchItem], Body(max_length=1000)]
) -> Response[Any]:
    event = request.resolved_event
    results: list[Any] = []
    for index, item in enumerate(items):
        try:
            results.append(_batch_item(svc, event, index, item))
        except FerryError as exc:
            # One bad item refuses only itself; its slot says why.
            results.append({**exc.to_body(), "index": index, "status": exc.status})
    return json_response(results)


def _batch_item(svc: Services, event: Any, index: int, item: BatchItem) -> Any:
    destination = item.destination
    if not (is_url(destination) or GROUP_NAME.fullmatch(destination)):
        raise InvalidInput(
            f"batch item {index}: destination {destination!r} is neither an http(s) URL nor a URL group name",
            field="destination",
        )
    queue = item.queue
    if queue is not None:
        check_queue_name(queue, field="queue", where=f"batch item {index}: ")
    return _publish(svc, event, destination, item.headers, item.body_bytes(), queue=queue)


@routes.get("/v2/messages/<message_id>")
def get_message(message_id: str, svc: ApiServices) -> Response[Any]:
    envelope, state = svc.messages.get(message_id)
    return json_response(shapes.message(envelope, state))


@routes.delete("/v2/messages/<message_id>")
def cancel_message(message_id: str, svc: ApiServices) -> Response[Any]:
    return json_response({"cancelled": svc.messages.cancel(message_id)})


@routes.delete("/v2/messages")
def cancel_messages(
    request: Request,
    svc: ApiServices,
    filters: Annotated[MessageFilters, Query()],
    body: Annotated[MessageIds | None, Body()] = None,
) -> Response[Any]:
    """By ids (body or `?messageIds=`), else every pending message matching the filters; no
    filters and no body is "cancel all", exactly as both SDKs send it."""
    refuse_null_body(request, body)
    ids = [*(body.messageIds if body else ()), *(filters.messageIds or ())]
    query = filters.model_copy(update={"messageIds": None}).to_query(max_count=MAX_BULK)
    run = svc.messages.cancel_many(ids=ids, query=query)
    return json_response(bulk_body({"cancelled": sum(run.results)}, run))
