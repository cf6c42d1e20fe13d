"""Small request/response pieces shared by the routers."""

from __future__ import annotations

import base64
import json
from typing import Any

from aws_lambda_powertools.event_handler import Response

from ferry.domain.errors import InvalidInput


def json_response(body: Any, status: int = 200) -> Response:
    return Response(status_code=status, content_type="application/json", body=json.dumps(body))


def raw_body(event: Any) -> bytes:
    body = event.get("body") or ""
    if event.get("isBase64Encoded"):
        return base64.b64decode(body)
    return body.encode("utf-8")


def json_body(event: Any, *, required: bool = False) -> Any:
    data = raw_body(event)
    if not data.strip():
        if required:
            raise InvalidInput("the request body must be JSON", field="body")
        return None
    try:
        return json.loads(data)
    except ValueError as exc:
        raise InvalidInput(f"the request body is not valid JSON: {exc}", field="body") from None


def query_params(event: Any) -> dict[str, str]:
    """Query parameters; API Gateway joins repeated ones with commas, which the filters split."""
    return dict(event.query_string_parameters or {})


def request_headers(event: Any) -> dict[str, str]:
    """The request headers plus configuration sent in the query string (`?upstash-retries=3`), which
    QStash accepts for webhook senders that cannot set headers. Real headers win."""
    headers = {k.lower(): v for k, v in (event.headers or {}).items()}
    for name, value in (event.query_string_parameters or {}).items():
        lower = name.lower()
        if lower.startswith("upstash-"):
            headers.setdefault(lower, value)
    return headers
