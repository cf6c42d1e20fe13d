"""The HTTP API (QStash-compatible `/v2/...`), served by the API Lambda behind API Gateway HTTP API
and, unchanged, by `ferry dev` through its API-Gateway-v2 event adapter."""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware

from ferry.api import dashboard
from ferry.domain.errors import FerryError, Unauthorized
from ferry.wiring import services

logger = Logger(service="ferry")
app = APIGatewayHttpResolver()


def error_response(status: int, body: dict[str, Any]) -> Response:
    return Response(status_code=status, content_type="application/json", body=json.dumps(body))


# --- the one error-to-HTTP mapping ---------------------------------------------------------------


@app.exception_handler(FerryError)
def _ferry_error(exc: FerryError) -> Response:
    if exc.status >= 500:
        logger.warning("request failed", extra={"status": exc.status, "error": exc.message})
    return error_response(exc.status, exc.to_body())


@app.exception_handler(Exception)
def _unexpected(exc: Exception) -> Response:
    logger.exception("unexpected error")
    request_id = app.current_event.request_context.request_id if app.current_event else None
    return error_response(500, {"error": f"internal error; quote request id {request_id} when reporting it"})


@app.not_found
def _not_found(exc: Exception) -> Response:
    event = app.current_event
    return error_response(
        404, {"error": f"no route for {event.http_method} {event.path}; see /v2 in docs/api.md"}
    )


# --- auth ----------------------------------------------------------------------------------------


def bearer_token(event: Any) -> str:
    header = event.headers.get("authorization") or event.headers.get("Authorization") or ""
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    # QStash also accepts the token as a query parameter (webhook-style publish URLs).
    return (event.query_string_parameters or {}).get("qstash_token", "")


def require_token(app: APIGatewayHttpResolver, next_middleware: NextMiddleware) -> Response:
    if dashboard.is_public(app.current_event.path):
        return next_middleware(app)  # the dashboard's files hold no data; its data calls are /v2
    token = bearer_token(app.current_event)
    if not token:
        raise Unauthorized("missing token: send `Authorization: Bearer <QSTASH_TOKEN>`")
    if not services().keys.is_valid(token):
        raise Unauthorized("invalid token: check QSTASH_TOKEN against the Ferry API token secret")
    return next_middleware(app)


app.use(middlewares=[require_token])


# --- routes: one router per capability --------------------------------------------------------

from ferry.api import dlq, keys, logs, messages, openapi, schedules, url_groups  # noqa: E402  (after `app`)

for router_module in (messages, dlq, logs, keys, schedules, url_groups, openapi, dashboard):
    app.include_router(router_module.router)


def handle(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return app.resolve(event, context)
