"""Logs: every state transition, newest first, with filters and a cursor (`/v2/events`, `/v2/logs`)."""

from __future__ import annotations

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router

from ferry.api import shapes
from ferry.api.http import json_response, query_params
from ferry.domain.queries import Query, page
from ferry.wiring import services

router = Router()


def _logs() -> Response:
    query = Query.parse(query_params(router.current_event), max_count=1000)
    events, cursor = page(services().history.query_events(query), query.count)
    entries = [shapes.log_entry(e) for e in events]
    # Both SDKs read `events`; Upstash's OpenAPI document names it `logs`. Send both.
    body: dict[str, object] = {"events": entries, "logs": entries}
    if cursor:
        body["cursor"] = cursor
    return json_response(body)


router.get("/v2/events")(_logs)
router.get("/v2/logs")(_logs)
