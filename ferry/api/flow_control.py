"""Flow control (`/v2/flowControl`) and `/v2/globalParallelism`."""

from __future__ import annotations

from typing import Literal

from aws_lambda_powertools.event_handler import Request, Response
from pydantic import BaseModel, ConfigDict, field_validator

from ferry.api.http import json_response, query_params
from ferry.api.queues import parse_model
from ferry.api.routing import ApiServices, Routes
from ferry.domain import flow_control as fc
from ferry.domain.durations import parse_duration

routes = Routes()


class PinQuery(BaseModel):
    """`POST /v2/flowControl/{key}/pin?parallelism=3&rate=20&period=120`; unknown keys refused."""

    model_config = ConfigDict(extra="forbid")

    parallelism: int | None = None
    rate: int | None = None
    period: int | None = None

    @field_validator("parallelism")
    @classmethod
    def _parallelism(cls, value: int | None) -> int | None:
        return None if value is None else fc.check_parallelism(value, field="parallelism")

    @field_validator("rate")
    @classmethod
    def _rate(cls, value: int | None) -> int | None:
        return None if value is None else fc.check_rate(value, field="rate")

    @field_validator("period", mode="before")
    @classmethod
    def _period(cls, value: object) -> int | None:
        if value is None:
            return None
        return fc.check_period(parse_duration(str(value), field="period"), field="period")


class UnpinQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    parallelism: Literal["true", "false"] = "false"
    rate: Literal["true", "false"] = "false"


class ListQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    search: str | None = None


@routes.get("/v2/flowControl")
def list_keys(request: Request, svc: ApiServices) -> Response:
    query = parse_model(ListQuery, query_params(request.resolved_event))
    assert isinstance(query, ListQuery)
    return json_response(svc.flow_control.list(query.search))


@routes.get("/v2/flowControl/<key>")
def get_key(key: str, svc: ApiServices) -> Response:
    return json_response(svc.flow_control.get(key))


@routes.post("/v2/flowControl/<key>/pause")
def pause_key(key: str, svc: ApiServices) -> Response:
    svc.flow_control.pause(key)
    return json_response({})


@routes.post("/v2/flowControl/<key>/resume")
def resume_key(key: str, svc: ApiServices) -> Response:
    svc.flow_control.resume(key)
    return json_response({})


@routes.post("/v2/flowControl/<key>/pin")
def pin_key(key: str, request: Request, svc: ApiServices) -> Response:
    query = parse_model(PinQuery, query_params(request.resolved_event))
    assert isinstance(query, PinQuery)
    svc.flow_control.pin(key, parallelism=query.parallelism, rate=query.rate, period=query.period)
    return json_response({})


@routes.post("/v2/flowControl/<key>/unpin")
def unpin_key(key: str, request: Request, svc: ApiServices) -> Response:
    query = parse_model(UnpinQuery, query_params(request.resolved_event))
    assert isinstance(query, UnpinQuery)
    svc.flow_control.unpin(key, parallelism=query.parallelism == "true", rate=query.rate == "true")
    return json_response({})


@routes.post("/v2/flowControl/<key>/resetRate")
def reset_rate(key: str, svc: ApiServices) -> Response:
    svc.flow_control.reset_rate(key)
    return json_response({})


@routes.get("/v2/globalParallelism")
def global_parallelism(svc: ApiServices) -> Response:
    return json_response(svc.flow_control.global_parallelism())
