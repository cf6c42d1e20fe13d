"""Schedules (`/v2/schedules`): create or replace, list, get, pause, resume, delete."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import Request, Response

from ferry.api import shapes
from ferry.api.http import json_response, raw_body, request_headers
from ferry.api.refusals import forwards_query
from ferry.api.routing import ApiServices, Routes
from ferry.domain.destination import destination_from_path, is_url
from ferry.domain.errors import InvalidInput
from ferry.usecases.schedules import ScheduleView
from ferry.wiring import Services

routes = Routes()
PREFIX = "/v2/schedules/"


def schedule_body(view: ScheduleView) -> dict[str, Any]:
    template = view.template
    body = shapes.message(template)
    for key in ("messageId", "url", "notBefore", "createdAt", "maxRetries", "state"):
        body.pop(key, None)
    body.update(
        scheduleId=view.schedule_id,
        cron=view.cron,
        destination=template.url_group or template.destination,
        createdAt=view.created_at_ms,
        retries=template.max_retries,
        delay=(template.not_before - template.created_at) // 1000,
        isPaused=view.paused,
        # Ferry extras: the EventBridge Scheduler expression it runs on, and what comes next.
        awsScheduleExpression=view.aws.expression,
        awsScheduleTimezone=view.aws.timezone,
        # Two for a cron restricting both day fields (unix OR; docs/cron.md).
        awsScheduleExpressions=list(view.aws.expressions),
        nextScheduleTimes=view.next_fire_ms,
    )
    if view.next_fire_ms:
        body["nextScheduleTime"] = view.next_fire_ms[0]
    if view.last_fire_ms is not None:
        body["lastScheduleTime"] = view.last_fire_ms
        body["lastScheduleStates"] = view.last_states
    return body


# Pause/resume first: the create route's pattern would match them too. The SDKs use PATCH,
# Upstash's OpenAPI document says POST; both are accepted.
@routes.route(PREFIX + "<schedule_id>/pause", method=["PATCH", "POST"])
def pause(schedule_id: str, svc: ApiServices) -> Response[Any]:
    svc.schedules.pause(schedule_id)
    return json_response({})


@routes.route(PREFIX + "<schedule_id>/resume", method=["PATCH", "POST"])
def resume(schedule_id: str, svc: ApiServices) -> Response[Any]:
    svc.schedules.resume(schedule_id)
    return json_response({})


# Schedule ids cannot contain ':', so only a destination URL matches this route; a URL group
# destination is a plain name, told apart from a schedule id by the method (POST creates).
@routes.post(PREFIX + "https?:.+")
@forwards_query
def create(request: Request, svc: ApiServices) -> Response[Any]:
    event = request.resolved_event
    destination = destination_from_path(event.path[len(PREFIX) :], event.raw_query_string or "")
    if not is_url(destination):
        raise InvalidInput(f"destination {destination!r} is not an absolute http(s) URL", field="destination")
    return _create(svc, event, destination)


@routes.post(PREFIX + "<url_group>")
@forwards_query
def create_for_url_group(url_group: str, request: Request, svc: ApiServices) -> Response[Any]:
    return _create(svc, request.resolved_event, url_group)


def _create(svc: Services, event: Any, destination: str) -> Response[Any]:
    schedule_id = svc.schedules.create(
        destination=destination,
        headers=request_headers(event),
        body=raw_body(event),
        caller_ip=event.request_context.http.source_ip,
    )
    return json_response({"scheduleId": schedule_id})


@routes.get("/v2/schedules")
def list_schedules(svc: ApiServices) -> Response[Any]:
    return json_response([schedule_body(view) for view in svc.schedules.list()])


@routes.get(PREFIX + "<schedule_id>")
def get_schedule(schedule_id: str, svc: ApiServices) -> Response[Any]:
    return json_response(schedule_body(svc.schedules.get(schedule_id)))


@routes.delete(PREFIX + "<schedule_id>")
def delete_schedule(schedule_id: str, svc: ApiServices) -> Response[Any]:
    svc.schedules.delete(schedule_id)
    return json_response({})
