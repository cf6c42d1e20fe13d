"""Schedules (`/v2/schedules`): create or replace, list, get, pause, resume, delete."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router

from ferry.api import shapes
from ferry.api.http import json_response, raw_body, request_headers
from ferry.domain.destination import destination_from_path, is_url
from ferry.domain.errors import InvalidInput
from ferry.usecases.schedules import ScheduleView
from ferry.wiring import services

router = Router()
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
@router.route(PREFIX + "<schedule_id>/pause", method=["PATCH", "POST"])
def pause(schedule_id: str) -> Response:
    services().schedules.pause(schedule_id)
    return json_response({})


@router.route(PREFIX + "<schedule_id>/resume", method=["PATCH", "POST"])
def resume(schedule_id: str) -> Response:
    services().schedules.resume(schedule_id)
    return json_response({})


# Schedule ids cannot contain ':', so only a destination URL matches this route; a URL group
# destination is a plain name, told apart from a schedule id by the method (POST creates).
@router.post(PREFIX + "https?:.+")
def create() -> Response:
    event = router.current_event
    destination = destination_from_path(event.path[len(PREFIX) :], event.raw_query_string or "")
    if not is_url(destination):
        raise InvalidInput(f"destination {destination!r} is not an absolute http(s) URL", field="destination")
    return _create(destination)


@router.post(PREFIX + "<url_group>")
def create_for_url_group(url_group: str) -> Response:
    return _create(url_group)


def _create(destination: str) -> Response:
    event = router.current_event
    schedule_id = services().schedules.create(
        destination=destination,
        headers=request_headers(event),
        body=raw_body(event),
        caller_ip=event.request_context.http.source_ip,
    )
    return json_response({"scheduleId": schedule_id})


@router.get("/v2/schedules")
def list_schedules() -> Response:
    return json_response([schedule_body(view) for view in services().schedules.list()])


@router.get(PREFIX + "<schedule_id>")
def get_schedule(schedule_id: str) -> Response:
    return json_response(schedule_body(services().schedules.get(schedule_id)))


@router.delete(PREFIX + "<schedule_id>")
def delete_schedule(schedule_id: str) -> Response:
    services().schedules.delete(schedule_id)
    return json_response({})
