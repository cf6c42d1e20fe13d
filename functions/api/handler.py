"""API Lambda: API Gateway HTTP API (payload 2.0) -> the QStash-compatible `/v2` routes."""

from ferry.handlers import api_handler as handler

__all__ = ["handler"]
