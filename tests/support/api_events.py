"""API Gateway HTTP API (payload 2.0) events for calling the API handler in-process."""

from __future__ import annotations

import base64
import secrets
import time
from typing import Any
from urllib.parse import unquote_plus


def http_event(
    method: str,
    target: str,
    *,
    headers: dict[str, str] | None = None,
    body: bytes | str | None = None,
    source_ip: str = "203.0.113.7",
) -> dict[str, Any]:
    """The event API Gateway sends for `method target` (target = path, optionally `?query`)."""
    raw_path, _, raw_query = target.partition("?")
    query: dict[str, str] = {}
    for pair in filter(None, raw_query.split("&")):
        name, _, value = pair.partition("=")
        name, value = unquote_plus(name), unquote_plus(value)
        query[name] = f"{query[name]},{value}" if name in query else value
    data = body.encode() if isinstance(body, str) else body
    now = time.time()
    return {
        "version": "2.0",
        "routeKey": "ANY /v2/{proxy+}",
        "rawPath": raw_path,
        "rawQueryString": raw_query,
        "headers": {k.lower(): v for k, v in (headers or {}).items()},
        "queryStringParameters": query or None,
        "pathParameters": {"proxy": raw_path.removeprefix("/v2/")},
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "ferry-test",
            "domainName": "127.0.0.1",
            "http": {
                "method": method,
                "path": raw_path,
                "protocol": "HTTP/1.1",
                "sourceIp": source_ip,
                "userAgent": "pytest",
            },
            "requestId": secrets.token_hex(8),
            "routeKey": "ANY /v2/{proxy+}",
            "stage": "$default",
            "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "timeEpoch": int(now * 1000),
        },
        "body": base64.b64encode(data).decode() if data else None,
        "isBase64Encoded": bool(data),
    }
