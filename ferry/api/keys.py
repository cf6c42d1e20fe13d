"""Signing keys: read, and rotate (next becomes current, a new next is generated)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import Response

from ferry.api.http import json_response
from ferry.api.routing import ApiServices, Routes
from ferry.domain.signing import new_signing_key

routes = Routes()


@routes.get("/v2/keys")
def get_keys(svc: ApiServices) -> Response[Any]:
    return json_response({"current": svc.keys.current(), "next": svc.keys.next()})


@routes.post("/v2/keys/rotate")
def rotate_keys(svc: ApiServices) -> Response[Any]:
    current, next_key = svc.keys.rotate(new_signing_key(svc.settings.config.signing_key_length))
    return json_response({"current": current, "next": next_key})
