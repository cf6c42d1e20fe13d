"""Queues (`/v2/queues`): upsert, list, get, delete, pause, resume."""

from __future__ import annotations

from aws_lambda_powertools.event_handler import Request, Response
from pydantic import BaseModel, ConfigDict, StrictBool, StrictInt, ValidationError

from ferry.api.http import json_body, json_response
from ferry.api.routing import ApiServices, Routes
from ferry.domain.errors import InvalidInput
from ferry.domain.queues import DEFAULT_PARALLELISM

routes = Routes()


class QueueUpsert(BaseModel):
    """`POST /v2/queues` body; unknown keys are refused."""

    model_config = ConfigDict(extra="forbid")

    queueName: str
    parallelism: StrictInt = DEFAULT_PARALLELISM
    paused: StrictBool = False


def parse_model(model: type[BaseModel], data: object) -> BaseModel:
    """Validate a request body, turning pydantic's error into our 400 naming the field."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(part) for part in first["loc"]) or "body"
        raise InvalidInput(f"{field}: {first['msg']}", field=field) from None


@routes.post("/v2/queues")
def upsert_queue(request: Request, svc: ApiServices) -> Response:
    body = parse_model(QueueUpsert, json_body(request.resolved_event, required=True))
    assert isinstance(body, QueueUpsert)
    svc.queues.upsert(body.queueName, parallelism=body.parallelism, paused=body.paused)
    return json_response({})


@routes.get("/v2/queues")
def list_queues(svc: ApiServices) -> Response:
    return json_response(svc.queues.list())


@routes.get("/v2/queues/<queue_name>")
def get_queue(queue_name: str, svc: ApiServices) -> Response:
    return json_response(svc.queues.get(queue_name))


@routes.delete("/v2/queues/<queue_name>")
def delete_queue(queue_name: str, svc: ApiServices) -> Response:
    svc.queues.delete(queue_name)
    return json_response({})


@routes.post("/v2/queues/<queue_name>/pause")
def pause_queue(queue_name: str, svc: ApiServices) -> Response:
    svc.queues.pause(queue_name)
    return json_response({})


@routes.post("/v2/queues/<queue_name>/resume")
def resume_queue(queue_name: str, svc: ApiServices) -> Response:
    svc.queues.resume(queue_name)
    return json_response({})
