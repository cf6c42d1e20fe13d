"""InMemoryUrlGroups: the URL group store."""

from __future__ import annotations

import threading

from ferry.domain.url_groups import UrlGroup


class InMemoryUrlGroups:
    def __init__(self) -> None:
        self._groups: dict[str, UrlGroup] = {}
        self._lock = threading.Lock()

    def get(self, name: str) -> UrlGroup | None:
        return self._groups.get(name)

    def put(self, group: UrlGroup) -> None:
        with self._lock:
            self._groups[group.name] = group

    def delete(self, name: str) -> bool:
        with self._lock:
            return self._groups.pop(name, None) is not None

    def list(self) -> list[UrlGroup]:
        return sorted(self._groups.values(), key=lambda g: g.name)
