"""Logs: every state transition, newest first, with filters and a cursor (`/v2/events`, `/v2/logs`)."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query

from ferry.api import shapes
from ferry.api.http import json_response
from ferry.api.requests import LogFilters
from ferry.api.routing import ApiServices, Routes
from ferry.domain.queries import page

routes = Routes()


@routes.get("/v2/events")
@routes.get("/v2/logs")
def list_logs(svc: ApiServices, filters: Annotated[LogFilters, Query()]) -> Response[Any]:
    query = filters.to_query(max_count=1000)
    events, cursor = page(svc.history.query_events(query), query.count)
    entries = [shapes.log_entry(e) for e in events]
    # Both SDKs read `events`; Upstash's OpenAPI document names it `logs`. Send both.
    body: dict[str, object] = {"events": entries, "logs": entries}
    if cursor:
        body["cursor"] = cursor
    return json_response(body)
