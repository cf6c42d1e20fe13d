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


def parse_json_body(text: str | bytes) -> Any:
    """`json.loads`, except that JSON nested too deeply for the parser is invalid JSON (a 400),
    not a RecursionError (a 500)."""
    try:
        return json.loads(text)
    except RecursionError:
        doc = text if isinstance(text, str) else text.decode("utf-8", "replace")
        raise json.JSONDecodeError("nested too deeply", doc, 0) from None


def request_headers(event: Any) -> dict[str, str]:
    """The request headers plus configuration sent in the query string (`?upstash-retries=3`), which
    QStash accepts for webhook senders that cannot set headers. Real headers win."""
    headers = {k.lower(): v for k, v in (event.headers or {}).items()}
    for name, value in (event.query_string_parameters or {}).items():
        lower = name.lower()
        if lower.startswith("upstash-"):
            headers.setdefault(lower, value)
    return headers


def refuse_null_body(request: Any, body: Any) -> None:
    """powertools reads a JSON `null` body as "no body"; for a bulk request that would mean
    "everything", so only a request without a body means that."""
    if body is None and (request.body or "").strip():
        raise InvalidInput("the body must be a JSON object or absent, not null", field="body")
