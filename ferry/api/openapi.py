"""Serves the OpenAPI document of the whole API (kept in sync with the routes by a test)."""

from __future__ import annotations

from aws_lambda_powertools.event_handler.api_gateway import Router

router = Router()
