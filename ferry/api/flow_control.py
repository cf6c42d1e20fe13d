"""Flow control (`/v2/flowControl`) and `/v2/globalParallelism`."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query
from pydantic import Field

from ferry.api.http import json_response
from ferry.api.requests import DECIMAL_TEXT, QueryString
from ferry.api.routing import ApiServices, Routes
from ferry.domain.flow_control import MAX_PARALLELISM, MAX_PERIOD_SECONDS, MAX_RATE

routes = Routes()


class KeySearch(QueryString):
    search: str | None = None


class Pin(QueryString):
    """`?parallelism=3&rate=20&period=120` (period in seconds); the SDKs send only those given."""

    parallelism: Annotated[int, Field(ge=1, le=MAX_PARALLELISM), DECIMAL_TEXT] | None = None
    rate: Annotated[int, Field(ge=1, le=MAX_RATE), DECIMAL_TEXT] | None = None
    period: Annotated[int, Field(ge=1, le=MAX_PERIOD_SECONDS), DECIMAL_TEXT] | None = None


class Unpin(QueryString):
    parallelism: Literal["true", "false"] = "false"
    rate: Literal["true", "false"] = "false"


@routes.get("/v2/flowControl")
def list_keys(svc: ApiServices, filters: Annotated[KeySearch, Query()]) -> Response[Any]:
    return json_response(svc.flow_control.list(filters.search))


@routes.get("/v2/flowControl/<key>")
def get_key(key: str, svc: ApiServices) -> Response[Any]:
    return json_response(svc.flow_control.get(key))


@routes.post("/v2/flowControl/<key>/pause")
def pause_key(key: str, svc: ApiServices) -> Response[Any]:
    svc.flow_control.pause(key)
    return json_response({})


@routes.post("/v2/flowControl/<key>/resume")
def resume_key(key: str, svc: ApiServices) -> Response[Any]:
    svc.flow_control.resume(key)
    return json_response({})


@routes.post("/v2/flowControl/<key>/pin")
def pin_key(key: str, svc: ApiServices, filters: Annotated[Pin, Query()]) -> Response[Any]:
    svc.flow_control.pin(key, parallelism=filters.parallelism, rate=filters.rate, period=filters.period)
    return json_response({})


@routes.post("/v2/flowControl/<key>/unpin")
def unpin_key(key: str, svc: ApiServices, filters: Annotated[Unpin, Query()]) -> Response[Any]:
    svc.flow_control.unpin(key, parallelism=filters.parallelism == "true", rate=filters.rate == "true")
    return json_response({})


@routes.post("/v2/flowControl/<key>/resetRate")
def reset_rate(key: str, svc: ApiServices) -> Response[Any]:
    svc.flow_control.reset_rate(key)
    return json_response({})


@routes.get("/v2/globalParallelism")
def global_parallelism(svc: ApiServices) -> Response[Any]:
    return json_response(svc.flow_control.global_parallelism())
