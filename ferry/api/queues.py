"""Queues (`/v2/queues`): upsert, list, get, delete, pause, resume."""

from __future__ import annotations

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from pydantic import BaseModel, ConfigDict, StrictBool, StrictInt, ValidationError

from ferry.api.http import json_body, json_response
from ferry.domain.errors import InvalidInput
from ferry.domain.queues import DEFAULT_PARALLELISM
from ferry.wiring import services

router = Router()


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


@router.post("/v2/queues")
def upsert_queue() -> Response:
    body = parse_model(QueueUpsert, json_body(router.current_event, required=True))
    assert isinstance(body, QueueUpsert)
    services().queues.upsert(body.queueName, parallelism=body.parallelism, paused=body.paused)
    return json_response({})


@router.get("/v2/queues")
def list_queues() -> Response:
    return json_response(services().queues.list())


@router.get("/v2/queues/<queue_name>")
def get_queue(queue_name: str) -> Response:
    return json_response(services().queues.get(queue_name))


@router.delete("/v2/queues/<queue_name>")
def delete_queue(queue_name: str) -> Response:
    services().queues.delete(queue_name)
    return json_response({})


@router.post("/v2/queues/<queue_name>/pause")
def pause_queue(queue_name: str) -> Response:
    services().queues.pause(queue_name)
    return json_response({})


@router.post("/v2/queues/<queue_name>/resume")
def resume_queue(queue_name: str) -> Response:
    services().queues.resume(queue_name)
    return json_response({})
