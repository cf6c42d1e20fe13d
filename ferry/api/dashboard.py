"""The web dashboard: its static page and assets, and the one-time-code sign-in exchange.

Served by the same API handler as `/v2` (Lambda behind API Gateway, and `ferry dev`). The files
are public: they hold no data. Every data call the page makes goes to the `/v2` API with the token
in an `Authorization` header, through the app's token middleware like any other client.
"""

from __future__ import annotations

import re
from functools import cache
from importlib.resources import files
from typing import Any

from aws_lambda_powertools.event_handler import Request, Response
from pydantic import BaseModel, ConfigDict, ValidationError

from ferry.api.http import json_response, parse_json_body, raw_body
from ferry.api.refusals import validation_error_body
from ferry.api.routing import ApiServices, Routes
from ferry.domain.errors import InvalidInput, NotFound

routes = Routes()

PREFIX = "/dashboard"
# Paths the token middleware leaves alone: the page, its flat asset folder, the code exchange.
_PUBLIC_PATH = re.compile(r"/dashboard(/|/session|/assets/[A-Za-z0-9_-][A-Za-z0-9_.-]*)?")

_CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
}

# Strict: only our own files, no inline script or style, no framing, no other origin.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
_SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
}


def is_public(path: str) -> bool:
    """True for the dashboard's own paths; everything under /v2 still needs the token."""
    return _PUBLIC_PATH.fullmatch(path) is not None and ".." not in path


@cache
def asset_names() -> frozenset[str]:
    """The files shipped in `ferry/dashboard` (package data) that may be served."""
    folder = files("ferry.dashboard")
    return frozenset(e.name for e in folder.iterdir() if e.is_file() and _suffix(e.name) in _CONTENT_TYPES)


def _suffix(name: str) -> str:
    dot = name.rfind(".")
    return name[dot:] if dot > 0 else ""


@cache
def _asset_text(name: str) -> str:
    return files("ferry.dashboard").joinpath(name).read_text(encoding="utf-8")


def _file(name: str) -> Response[Any]:
    if name not in asset_names():
        raise NotFound(f"the dashboard has no file {name!r}")
    return Response(
        status_code=200,
        content_type=_CONTENT_TYPES[_suffix(name)],
        body=_asset_text(name),
        # Revalidate each load: a new release's files show up at once.
        headers={**_SECURITY_HEADERS, "Cache-Control": "no-cache"},
    )


@routes.get(PREFIX, include_in_schema=False)
def page() -> Response[Any]:
    return _file("index.html")


@routes.get(PREFIX + "/", include_in_schema=False)
def page_with_slash() -> Response[Any]:
    return _file("index.html")


@routes.get(PREFIX + "/assets/<name>", include_in_schema=False)
def asset(name: str) -> Response[Any]:
    return _file(name)


class SessionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    code: str


@routes.post(PREFIX + "/session", include_in_schema=False)
def session(request: Request, svc: ApiServices) -> Response[Any]:
    """Exchanges a one-time login code for the API token (kept by the page in sessionStorage)."""
    body = _session_request(raw_body(request.resolved_event))
    token = svc.dashboard_sign_in.redeem(body.code)
    response = json_response({"token": token})
    response.headers.update({**_SECURITY_HEADERS, "Cache-Control": "no-store"})
    return response


def _session_request(data: bytes) -> SessionRequest:
    # Validated here rather than as a powertools Body(): the route is not part of the API's
    # OpenAPI document, and a Body() model would put its schema there.
    try:
        return SessionRequest.model_validate(parse_json_body(data or b"null"))
    except ValueError as exc:
        errors = exc.errors() if isinstance(exc, ValidationError) else [{"type": "json_invalid", "loc": ()}]
        problem = validation_error_body(errors)
        raise InvalidInput(problem["error"], field=problem["field"]) from None
