"""URL groups (QStash "topics"): a name for a set of endpoints; publishing to it fans out into one
message per endpoint, each with its own id, retries, DLQ entry and log."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ferry.domain.destination import check_destination
from ferry.domain.errors import InvalidInput, shown

GROUP_NAME = re.compile(r"^[A-Za-z0-9._\-]{1,80}$")
MAX_ENDPOINTS = 100


@dataclass(frozen=True)
class Endpoint:
    url: str
    name: str | None = None

    def to_body(self) -> dict[str, str]:
        return {"url": self.url, **({"name": self.name} if self.name else {})}


@dataclass(frozen=True)
class UrlGroup:
    name: str
    endpoints: tuple[Endpoint, ...]
    created_at_ms: int
    updated_at_ms: int

    def to_body(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "createdAt": self.created_at_ms,
            "updatedAt": self.updated_at_ms,
            "endpoints": [e.to_body() for e in self.endpoints],
        }


def check_group_name(name: str) -> str:
    if not GROUP_NAME.fullmatch(name):
        raise InvalidInput(
            f"URL group name {name!r} may only contain letters, digits, '-', '_' and '.' (at most 80)",
            field="urlGroup",
        )
    return name


def check_endpoint_name(name: str, index: int) -> str:
    """An endpoint's name follows the group name's rule: it travels with every message sent to it."""
    if not GROUP_NAME.fullmatch(name):
        raise InvalidInput(
            f"endpoints[{index}].name {shown(name)} may only contain letters, digits, '-', '_' and '.' "
            "(at most 80)",
            field=f"endpoints[{index}].name",
        )
    return name


def parse_endpoints(body: Any, *, allow_private: bool, require_url: bool) -> list[Endpoint]:
    """`{"endpoints": [{"url": ..., "name": ...}]}`; on removal an entry may name only one of the two."""
    items = body.get("endpoints") if isinstance(body, dict) else None
    if not isinstance(items, list) or not items:
        raise InvalidInput(
            'the body must be {"endpoints": [{"url": "https://...", "name": "..."}]}', field="endpoints"
        )
    endpoints = []
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise InvalidInput(
                f"endpoints[{index}] must be an object with url and/or name", field="endpoints"
            )
        url, name = item.get("url"), item.get("name")
        if (url is not None and not isinstance(url, str)) or (name is not None and not isinstance(name, str)):
            raise InvalidInput(f"endpoints[{index}]: url and name must be strings", field="endpoints")
        if name and require_url:
            # Only names being stored: a removal compares with the stored names, and one stored
            # before this rule must still be removable by its name.
            check_endpoint_name(name, index)
        if require_url or url:
            check_destination(url or "", allow_private=allow_private, field=f"endpoints[{index}].url")
        elif not name:
            raise InvalidInput(f"endpoints[{index}] needs a url or a name", field="endpoints")
        endpoints.append(Endpoint(url=url or "", name=name or None))
    return endpoints


def upsert(group: UrlGroup | None, name: str, new: list[Endpoint], now_ms: int) -> UrlGroup:
    """Add endpoints, replacing any with the same url or the same name."""
    kept = [
        e
        for e in (group.endpoints if group else ())
        if not any(e.url == n.url or (n.name and e.name == n.name) for n in new)
    ]
    endpoints = tuple(kept + new)
    if len(endpoints) > MAX_ENDPOINTS:
        raise InvalidInput(f"a URL group holds at most {MAX_ENDPOINTS} endpoints", field="endpoints")
    return UrlGroup(
        name=name,
        endpoints=endpoints,
        created_at_ms=group.created_at_ms if group else now_ms,
        updated_at_ms=now_ms,
    )


def remove(group: UrlGroup, gone: list[Endpoint], now_ms: int) -> UrlGroup:
    endpoints = tuple(
        e
        for e in group.endpoints
        if not any((g.url and e.url == g.url) or (g.name and e.name == g.name) for g in gone)
    )
    return UrlGroup(
        name=group.name, endpoints=endpoints, created_at_ms=group.created_at_ms, updated_at_ms=now_ms
    )
