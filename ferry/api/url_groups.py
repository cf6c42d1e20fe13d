"""URL groups (`/v2/topics`): upsert and remove endpoints, list, get, delete."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body

from ferry.api.http import json_response
from ferry.api.requests import Endpoints
from ferry.api.routing import ApiServices, Routes

routes = Routes()


@routes.post("/v2/topics/<name>/endpoints")
def upsert_endpoints(name: str, svc: ApiServices, body: Annotated[Endpoints, Body()]) -> Response[Any]:
    svc.url_groups.upsert_endpoints(name, body.to_body())
    return json_response({})


@routes.delete("/v2/topics/<name>/endpoints")
def remove_endpoints(name: str, svc: ApiServices, body: Annotated[Endpoints, Body()]) -> Response[Any]:
    svc.url_groups.remove_endpoints(name, body.to_body())
    return json_response({})


@routes.get("/v2/topics")
def list_groups(svc: ApiServices) -> Response[Any]:
    return json_response([group.to_body() for group in svc.url_groups.list()])


@routes.get("/v2/topics/<name>")
def get_group(name: str, svc: ApiServices) -> Response[Any]:
    return json_response(svc.url_groups.get(name).to_body())


@routes.delete("/v2/topics/<name>")
def delete_group(name: str, svc: ApiServices) -> Response[Any]:
    svc.url_groups.delete(name)
    return json_response({})
