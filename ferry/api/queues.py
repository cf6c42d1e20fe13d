"""Queues (`/v2/queues`): upsert, list, get, delete, pause, resume."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body
from pydantic import Field, StringConstraints

from ferry.api.http import json_response
from ferry.api.requests import JsonBody
from ferry.api.routing import ApiServices, Routes
from ferry.domain.flow_control import MAX_PARALLELISM
from ferry.domain.queues import DEFAULT_PARALLELISM, QUEUE_NAME

routes = Routes()


class QueueUpsert(JsonBody):
    """`POST /v2/queues`: create the queue or replace its settings."""

    queueName: Annotated[str, StringConstraints(pattern=QUEUE_NAME.pattern)]
    parallelism: Annotated[int, Field(ge=1, le=MAX_PARALLELISM)] = DEFAULT_PARALLELISM
    paused: bool = False


@routes.post("/v2/queues")
def upsert_queue(svc: ApiServices, body: Annotated[QueueUpsert, Body()]) -> Response[Any]:
    svc.queues.upsert(body.queueName, parallelism=body.parallelism, paused=body.paused)
    return json_response({})


@routes.get("/v2/queues")
def list_queues(svc: ApiServices) -> Response[Any]:
    return json_response(svc.queues.list())


@routes.get("/v2/queues/<queue_name>")
def get_queue(queue_name: str, svc: ApiServices) -> Response[Any]:
    return json_response(svc.queues.get(queue_name))


@routes.delete("/v2/queues/<queue_name>")
def delete_queue(queue_name: str, svc: ApiServices) -> Response[Any]:
    svc.queues.delete(queue_name)
    return json_response({})


@routes.post("/v2/queues/<queue_name>/pause")
def pause_queue(queue_name: str, svc: ApiServices) -> Response[Any]:
    svc.queues.pause(queue_name)
    return json_response({})


@routes.post("/v2/queues/<queue_name>/resume")
def resume_queue(queue_name: str, svc: ApiServices) -> Response[Any]:
    svc.queues.resume(queue_name)
    return json_response({})
