"""Signing keys: read, and rotate (next becomes current, a new next is generated)."""

from __future__ import annotations

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router

from ferry.api.http import json_response
from ferry.domain.signing import new_signing_key
from ferry.wiring import services

router = Router()


@router.get("/v2/keys")
def get_keys() -> Response:
    keys = services().keys
    return json_response({"current": keys.current(), "next": keys.next()})


@router.post("/v2/keys/rotate")
def rotate_keys() -> Response:
    svc = services()
    current, next_key = svc.keys.rotate(new_signing_key(svc.settings.config.signing_key_length))
    return json_response({"current": current, "next": next_key})
