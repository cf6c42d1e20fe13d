"""URL groups (`/v2/topics`): upsert and remove endpoints, list, get, delete."""

from __future__ import annotations

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router

from ferry.api.http import json_body, json_response
from ferry.wiring import services

router = Router()


@router.post("/v2/topics/<name>/endpoints")
def upsert_endpoints(name: str) -> Response:
    services().url_groups.upsert_endpoints(name, json_body(router.current_event, required=True))
    return json_response({})


@router.delete("/v2/topics/<name>/endpoints")
def remove_endpoints(name: str) -> Response:
    services().url_groups.remove_endpoints(name, json_body(router.current_event, required=True))
    return json_response({})


@router.get("/v2/topics")
def list_groups() -> Response:
    return json_response([group.to_body() for group in services().url_groups.list()])


@router.get("/v2/topics/<name>")
def get_group(name: str) -> Response:
    return json_response(services().url_groups.get(name).to_body())


@router.delete("/v2/topics/<name>")
def delete_group(name: str) -> Response:
    services().url_groups.delete(name)
    return json_response({})
