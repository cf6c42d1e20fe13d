"""A tiny client for the Ferry (QStash-compatible) HTTP API, on the standard library only.

It knows the routes and their wire formats, nothing else: every method returns the decoded JSON
answer (or None for an empty one) and raises `ApiError` for a non-2xx answer, carrying the API's
`{"error": ...}` message, its `field` and the HTTP status, or for a server it cannot reach.
It works against `ferry dev` and a deployed stack alike (and against QStash itself).
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import quote, urlencode

DEFAULT_URL = "http://127.0.0.1:8080"
DEFAULT_TOKEN = "ferry-dev-token"
# Characters that may stay as they are in a destination put after a route prefix (the SDKs send
# the destination unencoded); anything else, such as spaces or non-ASCII, is percent-encoded.
_URL_SAFE = ":/?#[]@!$&'()*+,;=%~"


class ApiError(Exception):
    """A request the API refused (status is the HTTP status) or could not be made (status None)."""

    def __init__(self, message: str, status: int | None = None, field: str | None = None, body: Any = None):
        super().__init__(message)
        self.message = message
        self.status = status
        self.field = field
        self.body = body

    def __str__(self) -> str:
        where = f" (field: {self.field})" if self.field else ""
        if self.status is None:
            return f"{self.message}{where}"
        return f"HTTP {self.status}: {self.message}{where}"


class _Request(urllib.request.Request):
    def has_header(self, header_name: str) -> bool:
        # urllib gives any body without a Content-Type `application/x-www-form-urlencoded`; Ferry
        # would store and deliver that. A message goes with the caller's content type or none.
        return header_name == "Content-type" or super().has_header(header_name)


def _some(ids: Iterable[str]) -> list[str]:
    """The bulk routes treat "no ids" as "everything": never send an empty list by accident."""
    listed = list(ids)
    if not listed:
        raise ValueError("no ids given (use cancel_all_messages to cancel everything)")
    return listed


def _id(value: str) -> str:
    return quote(value, safe="")


class FerryClient:
    def __init__(self, url: str = DEFAULT_URL, token: str = DEFAULT_TOKEN, timeout: float = 30.0) -> None:
        self.url = url.rstrip("/")
        self.token = token
        self.timeout = timeout

    # --- transport ------------------------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        *,
        query: Mapping[str, Any] | None = None,
        body: bytes | None = None,
        json_body: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> Any:
        """Send one request; return the decoded JSON answer (None when empty), or raise ApiError."""
        sent = {"Authorization": f"Bearer {self.token}", "Accept": "application/json", **(headers or {})}
        if json_body is not None:
            body = json.dumps(json_body).encode()
            sent["Content-Type"] = "application/json"
        url = self.url + path
        pairs = {k: v for k, v in (query or {}).items() if v is not None}
        if pairs:
            url += ("&" if "?" in url else "?") + urlencode(pairs, safe=",")
        request = _Request(url, data=body, method=method, headers=sent)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                answer = _decode(response.read())
                status = response.status
        except urllib.error.HTTPError as error:
            raise _api_error(error.code, error.read()) from None
        except urllib.error.URLError as error:
            raise ApiError(f"cannot reach the API at {self.url}: {error.reason}") from None
        except (TimeoutError, ConnectionError) as error:
            raise ApiError(f"cannot reach the API at {self.url}: {error}") from None
        if isinstance(answer, str):
            raise ApiError(f"the answer from {url} is not JSON: is {self.url} a Ferry or QStash API?", status)
        return answer

    # --- messages -------------------------------------------------------------------------------

    def publish(
        self,
        destination: str,
        body: bytes = b"",
        headers: Mapping[str, str] | None = None,
        queue: str | None = None,
    ) -> dict[str, Any]:
        """POST /v2/publish/<destination>, or /v2/enqueue/<queue>/<destination> with a queue."""
        route = f"/v2/enqueue/{_id(queue)}/" if queue else "/v2/publish/"
        return self.request("POST", route + quote(destination, safe=_URL_SAFE), body=body, headers=headers)

    def get_message(self, message_id: str) -> dict[str, Any]:
        return self.request("GET", f"/v2/messages/{_id(message_id)}")

    def cancel_message(self, message_id: str) -> dict[str, Any]:
        return self.request("DELETE", f"/v2/messages/{_id(message_id)}") or {"cancelled": 1}

    def cancel_messages(self, message_ids: Iterable[str]) -> dict[str, Any]:
        return self.request("DELETE", "/v2/messages", json_body={"messageIds": _some(message_ids)})

    def cancel_all_messages(self) -> dict[str, Any]:
        """DELETE /v2/messages with no ids and no filters cancels every pending message."""
        return self.request("DELETE", "/v2/messages")

    # --- logs -----------------------------------------------------------------------------------

    def events(self, *, cursor: str | None = None, count: int | None = None, **filters: str | None) -> Any:
        """One page of GET /v2/events: filters are QStash's query names (messageId, state, url, ...)."""
        return self.request("GET", "/v2/events", query={**filters, "count": count, "cursor": cursor})

    # --- dead-letter queue ----------------------------------------------------------------------

    def dlq_list(self, *, cursor: str | None = None, count: int | None = None, **filters: str | None) -> Any:
        return self.request("GET", "/v2/dlq", query={**filters, "count": count, "cursor": cursor})

    def dlq_get(self, dlq_id: str) -> dict[str, Any]:
        return self.request("GET", f"/v2/dlq/{_id(dlq_id)}")

    def dlq_retry(self, dlq_ids: Iterable[str], headers: Mapping[str, str] | None = None) -> dict[str, Any]:
        """POST /v2/dlq/retry?dlqIds=a,b: each is published again as a new message."""
        ids = ",".join(_some(dlq_ids))
        return self.request("POST", "/v2/dlq/retry", query={"dlqIds": ids}, headers=headers)

    def dlq_delete(self, dlq_id: str) -> dict[str, Any]:
        return self.request("DELETE", f"/v2/dlq/{_id(dlq_id)}") or {"deleted": 1}

    def dlq_delete_many(self, dlq_ids: Iterable[str]) -> dict[str, Any]:
        return self.request("DELETE", "/v2/dlq", json_body={"dlqIds": _some(dlq_ids)})

    # --- signing keys ---------------------------------------------------------------------------

    def keys(self) -> dict[str, Any]:
        return self.request("GET", "/v2/keys")

    def rotate_keys(self) -> dict[str, Any]:
        return self.request("POST", "/v2/keys/rotate")

    # --- schedules ------------------------------------------------------------------------------

    def create_schedule(
        self, destination: str, cron: str, body: bytes = b"", headers: Mapping[str, str] | None = None
    ) -> dict[str, Any]:
        """POST /v2/schedules/<destination> with Upstash-Cron; an existing Upstash-Schedule-Id is
        replaced as a whole."""
        sent = {**(headers or {}), "Upstash-Cron": cron}
        route = "/v2/schedules/" + quote(destination, safe=_URL_SAFE)
        return self.request("POST", route, body=body, headers=sent)

    def list_schedules(self) -> list[dict[str, Any]]:
        return self.request("GET", "/v2/schedules")

    def get_schedule(self, schedule_id: str) -> dict[str, Any]:
        return self.request("GET", f"/v2/schedules/{_id(schedule_id)}")

    def pause_schedule(self, schedule_id: str) -> Any:
        return self.request("PATCH", f"/v2/schedules/{_id(schedule_id)}/pause")

    def resume_schedule(self, schedule_id: str) -> Any:
        return self.request("PATCH", f"/v2/schedules/{_id(schedule_id)}/resume")

    def delete_schedule(self, schedule_id: str) -> Any:
        return self.request("DELETE", f"/v2/schedules/{_id(schedule_id)}")


def _decode(data: bytes) -> Any:
    if not data.strip():
        return None
    try:
        return json.loads(data)
    except ValueError:
        return data.decode("utf-8", "replace")


def _api_error(status: int, data: bytes) -> ApiError:
    body = _decode(data)
    if isinstance(body, dict) and isinstance(body.get("error"), str):
        field = body.get("field")
        return ApiError(body["error"], status, field if isinstance(field, str) else None, body)
    if isinstance(body, str):  # not JSON: some other server, or a proxy in front of the API
        excerpt = " ".join(body.split())[:200]
        return ApiError(f"the answer is not Ferry's JSON (is the URL right?): {excerpt}", status, None, body)
    text = "" if body is None else json.dumps(body)
    return ApiError(text[:500] or "the answer carried no error message", status, None, body)
