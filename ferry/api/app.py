"""The HTTP API (QStash-compatible `/v2/...`), served by the API Lambda behind API Gateway HTTP API
and, unchanged, by `ferry dev` through its API-Gateway-v2 event adapter.

`build_api(services_factory)` builds one independent API instance (resolver, routers, error
mapping) that serves one request at a time, as a Lambda instance does. `ApiInstances` keeps a
pool of them so concurrent callers (the `ferry dev` gateway's threads) never share one; the
Lambda runtime calls it from one thread, so it holds a single instance there.
"""

from __future__ import annotations

import json
import queue
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware
from aws_lambda_powertools.event_handler.middlewares.openapi_validation import (
    OpenAPIRequestValidationMiddleware,
)
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
)

from ferry.api import (
    dashboard,
    dlq,
    flow_control,
    keys,
    logs,
    messages,
    openapi,
    queues,
    schedules,
    url_groups,
    workflow_events,
    workflows,
)
from ferry.api.http import parse_json_body, raw_body
from ferry.api.refusals import (
    RETRY_AFTER_SECONDS,
    refuse_unknown_query_parameters,
    unavailable_body,
    validation_error_body,
)
from ferry.api.routing import SERVICES_KEY, Routes
from ferry.domain.errors import FerryError, Unauthorized
from ferry.wiring import Services, services

logger = Logger(service="ferry")

ServicesFactory = Callable[[], Services]

# One line per capability; a new router module declares `routes = Routes()` and is added here.
ROUTES: tuple[Routes, ...] = (
    messages.routes,
    dlq.routes,
    logs.routes,
    keys.routes,
    schedules.routes,
    url_groups.routes,
    workflows.routes,
    workflow_events.routes,
    openapi.routes,
    queues.routes,
    flow_control.routes,
    dashboard.routes,
)


def error_response(status: int, body: dict[str, Any]) -> Response:
    return Response(status_code=status, content_type="application/json", body=json.dumps(body))


class JsonBodyValidation(OpenAPIRequestValidationMiddleware):
    """Request validation where a body model is only ever read from JSON: powertools would also
    parse forms and multipart into it (and raise a bare ValueError on a multipart type without a
    boundary, a 500). Routes taking raw bytes (publish) declare no body model and are unaffected."""

    def _get_body(self, app: Any) -> Any:
        event = app.current_event
        data = raw_body(event)
        if not data.strip():
            return None  # no body at all, whatever the content type says
        content_type = (event.headers.get("content-type") or "").strip().lower()
        if content_type and not content_type.startswith("application/json"):
            raise RequestUnsupportedContentType(
                "unsupported content type",
                errors=[
                    {
                        "type": "unsupported_content_type",
                        "loc": ("body",),
                        "msg": f"Content-Type {content_type!r} is not JSON",
                    }
                ],
            )
        try:
            return parse_json_body(data.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            detail = exc.msg if isinstance(exc, json.JSONDecodeError) else "it is not UTF-8"
            raise RequestValidationError(
                [
                    {
                        "type": "json_invalid",
                        "loc": ("body",),
                        "msg": "JSON decode error",
                        "ctx": {"error": detail},
                    }
                ]
            ) from None


class FerryApi(APIGatewayHttpResolver):
    """A resolver whose current event and Lambda context belong to this instance.

    powertools stores them on the `BaseRouter` class, shared by every resolver in the process;
    keeping them on the instance is what makes two instances independent.
    """

    def __init__(self, services_factory: ServicesFactory) -> None:
        super().__init__(enable_validation=True)
        self._request_validation_middleware = JsonBodyValidation()
        self.services_factory = services_factory
        self._event: Any = None
        self._lambda_context: Any = None

    @property  # type: ignore[override]
    def current_event(self) -> Any:
        return self._event

    @current_event.setter
    def current_event(self, value: Any) -> None:
        self._event = value

    @property  # type: ignore[override]
    def lambda_context(self) -> Any:
        return self._lambda_context

    @lambda_context.setter
    def lambda_context(self, value: Any) -> None:
        self._lambda_context = value

    def _to_proxy_event(self, event: dict) -> Any:
        self._event = super()._to_proxy_event(event)
        return self._event

    def handle(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        """Serve one request (the context is cleared after each, so services are set each time)."""
        self._lambda_context = context
        self.append_context(**{SERVICES_KEY: self.services_factory()})
        return self.resolve(event, context)


def build_api(services_factory: ServicesFactory = services) -> FerryApi:
    """A new API instance with routers of its own, reaching its services through `services_factory`."""
    app = FerryApi(services_factory)

    # --- the one error-to-HTTP mapping ---------------------------------------------------------

    @app.exception_handler(FerryError)
    def _ferry_error(exc: FerryError) -> Response:
        if exc.status >= 500:
            logger.warning("request failed", extra={"status": exc.status, "error": exc.message})
        response = error_response(exc.status, exc.to_body())
        if exc.status == 503:
            response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response

    @app.exception_handler([RequestValidationError, RequestUnsupportedContentType])
    def _invalid(exc: RequestValidationError | RequestUnsupportedContentType) -> Response:
        # Validation runs before the token middleware: an unauthenticated caller learns nothing
        # about the request's shape.
        if (refusal := token_refusal(app)) is not None:
            return error_response(refusal.status, refusal.to_body())
        return error_response(400, validation_error_body(exc.errors()))

    @app.exception_handler(Exception)
    def _unexpected(exc: Exception) -> Response:
        if (unavailable := unavailable_body(exc)) is not None:
            logger.warning("storage unavailable", extra={"error": type(exc).__name__})
            body, retry_after = unavailable
            response = error_response(503, body)
            response.headers["Retry-After"] = str(retry_after)
            return response
        event = app.current_event
        request_id = event.request_context.request_id if event else None
        # The id the caller is told to quote, so the operator finds this line by it.
        logger.exception("unexpected error", extra={"request_id": request_id})
        return error_response(
            500, {"error": f"internal error; quote request id {request_id} when reporting it"}
        )

    @app.not_found
    def _not_found(exc: Exception) -> Response:
        event = app.current_event
        return error_response(
            404, {"error": f"no route for {event.http_method} {event.path}; see /v2 in docs/api.md"}
        )

    app.use(middlewares=[require_token, refuse_unknown_query_parameters])
    for routes in ROUTES:
        app.include_router(routes.router())
    return app


# --- auth ----------------------------------------------------------------------------------------


def bearer_token(event: Any) -> str:
    header = event.headers.get("authorization") or event.headers.get("Authorization") or ""
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    # QStash also accepts the token as a query parameter (webhook-style publish URLs).
    return (event.query_string_parameters or {}).get("qstash_token", "")


def token_refusal(app: FerryApi) -> Unauthorized | None:
    if dashboard.is_public(app.current_event.path):
        return None  # the dashboard's files hold no data; its data calls are /v2
    token = bearer_token(app.current_event)
    if not token:
        return Unauthorized("missing token: send `Authorization: Bearer <QSTASH_TOKEN>`")
    if not app.context[SERVICES_KEY].keys.is_valid(token):
        return Unauthorized("invalid token: check QSTASH_TOKEN against the Ferry API token secret")
    return None


def require_token(app: FerryApi, next_middleware: NextMiddleware) -> Response:
    if (refusal := token_refusal(app)) is not None:
        raise refusal
    return next_middleware(app)


# --- a pool of instances -------------------------------------------------------------------------


class ApiInstances:
    """Serves each concurrent request with an instance no other request is using (built on
    demand, reused once free), like Lambda's execution environments, without a global lock."""

    def __init__(self, services_factory: ServicesFactory = services) -> None:
        self._services_factory = services_factory
        self._idle: queue.SimpleQueue[FerryApi] = queue.SimpleQueue()

    def __call__(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        try:
            api = self._idle.get_nowait()
        except queue.Empty:
            api = build_api(self._services_factory)
        try:
            return api.handle(event, context)
        finally:
            self._idle.put(api)


handle = ApiInstances()
