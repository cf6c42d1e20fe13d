"""A plain HTTP client of a `ferry dev` stack's API, with its token: (status, decoded JSON body or
None), for arranging and checking what the SDKs do not expose."""

from __future__ import annotations

import json
import urllib.error
import urllib.request


def api(stack, method: str, path: str, body: object | None = None, headers: dict | None = None):
    data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
    request = urllib.request.Request(stack.url + path, data=data, method=method)
    if body is not None and not isinstance(body, bytes):
        request.add_header("Content-Type", "application/json")
    request.add_header("Authorization", f"Bearer {stack.secrets.api_token}")
    for name, value in (headers or {}).items():
        request.add_header(name, value)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            raw = response.read()
            return response.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")
