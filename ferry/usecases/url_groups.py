"""URL groups: manage the endpoint sets that publishes and schedules fan out to."""

from __future__ import annotations

from typing import Any, Protocol

from ferry.domain.errors import NotFound
from ferry.domain.url_groups import Endpoint, UrlGroup, check_group_name, parse_endpoints, remove, upsert
from ferry.usecases.ports import Clock


class UrlGroupStore(Protocol):
    def get(self, name: str) -> UrlGroup | None: ...

    def put(self, group: UrlGroup) -> None: ...

    def delete(self, name: str) -> bool: ...

    def list(self) -> list[UrlGroup]: ...


class UrlGroups:
    def __init__(self, *, store: UrlGroupStore, clock: Clock, allow_private_destinations: bool) -> None:
        self._store = store
        self._clock = clock
        self._allow_private = allow_private_destinations

    def _now_ms(self) -> int:
        return int(self._clock.now() * 1000)

    def upsert_endpoints(self, name: str, body: Any) -> UrlGroup:
        check_group_name(name)
        endpoints = parse_endpoints(body, allow_private=self._allow_private, require_url=True)
        group = upsert(self._store.get(name), name, endpoints, self._now_ms())
        self._store.put(group)
        return group

    def remove_endpoints(self, name: str, body: Any) -> None:
        group = self.get(name)
        remaining = remove(
            group, parse_endpoints(body, allow_private=True, require_url=False), self._now_ms()
        )
        if remaining.endpoints:
            self._store.put(remaining)
        else:
            # QStash deletes a group once its last endpoint is gone.
            self._store.delete(name)

    def get(self, name: str) -> UrlGroup:
        group = self._store.get(name)
        if group is None:
            raise NotFound(f"URL group {name!r} not found; create it with POST /v2/topics/{name}/endpoints")
        return group

    def list(self) -> list[UrlGroup]:
        return self._store.list()

    def delete(self, name: str) -> None:
        """Idempotent, as in QStash (200 whether or not the group exists; the qstash-py suite deletes
        before it creates)."""
        check_group_name(name)
        self._store.delete(name)

    def endpoints(self, name: str) -> tuple[Endpoint, ...]:
        return self.get(name).endpoints
