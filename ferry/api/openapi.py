"""Serves the OpenAPI document of the whole API (kept in sync with the routes by a test).

The document is hand-maintained JSON in `ferry/api/openapi.json` (package data; `docs/openapi.json` is
a byte-identical copy for readers). `GET /v2/openapi.json` is authenticated like every other route:
the app's token middleware applies to all of them.
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files
from typing import Any

from aws_lambda_powertools.event_handler import Response

from ferry.api.routing import Routes

routes = Routes()

DOCUMENT_PATH = "/v2/openapi.json"


@cache
def document_text() -> str:
    """The document exactly as shipped (read once per warm container)."""
    return files("ferry.api").joinpath("openapi.json").read_text(encoding="utf-8")


@routes.get(DOCUMENT_PATH)
def openapi_document() -> Response[Any]:
    return Response(status_code=200, content_type="application/json", body=document_text())
