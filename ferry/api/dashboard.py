"""The web dashboard: its static page and assets, and the one-time-code sign-in exchange.

Served by the same API handler as `/v2` (Lambda behind API Gateway, and `ferry dev`). The files
are public: they hold no data. Every data call the page makes goes to the `/v2` API with the token
in an `Authorization` header, through the app's token middleware like any other client.
"""

from __future__ import annotations

import re
from functools import cache
from importlib.resources import files
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body
from pydantic import BaseModel, ConfigDict

from ferry.api.http import json_response
from ferry.api.routing import ApiServices, Routes
from ferry.domain.errors import NotFound

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
def session(svc: ApiServices, body: Annotated[SessionRequest, Body()]) -> Response[Any]:
    """Exchanges a one-time login code for the API token (kept by the page in sessionStorage)."""
    token = svc.dashboard_sign_in.redeem(body.code)
    response = json_response({"token": token})
    response.headers.update({**_SECURITY_HEADERS, "Cache-Control": "no-store"})
    return response
