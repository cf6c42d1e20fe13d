"""The real API handler (`ferry.api.app.build_api`: resolver, validation, routers, use cases) over
services wired to the in-memory twins, behind a WSGI adapter so that schemathesis can call it in
process: no socket, no AWS, and nothing is ever delivered (the twin target records, never connects)."""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from types import SimpleNamespace
from typing import Any

from ferry.adapters.memory.limits import InMemoryLimitStore
from ferry.adapters.schedules import StoredSchedule
from ferry.api.app import build_api
from ferry.config import DEFAULT_CONFIG
from ferry.domain.queries import Query
from ferry.usecases.flow_control import FlowControls
from ferry.usecases.schedules import Schedules
from tests.support.api_events import http_event
from tests.support.twins import World


@dataclass
class InMemorySchedules:
    """The schedule store, as `ferry.adapters.schedules.EventBridgeSchedules` keeps it."""

    clock: Any
    items: dict[str, StoredSchedule] = field(default_factory=dict)

    def put(self, schedule_id, *, cron, expression, timezone, template, paused=False, second=None) -> None:
        created = int(self.clock.now() * 1000)
        self.items[schedule_id] = StoredSchedule(
            schedule_id, cron, expression, timezone, template, paused, created, second
        )

    def get(self, schedule_id: str) -> StoredSchedule | None:
        return self.items.get(schedule_id)

    def set_paused(self, schedule_id: str, paused: bool) -> bool:
        if schedule_id not in self.items:
            return False
        self.items[schedule_id] = replace(self.items[schedule_id], paused=paused)
        return True

    def delete(self, schedule_id: str) -> bool:
        return self.items.pop(schedule_id, None) is not None

    def ids(self) -> list[str]:
        return sorted(self.items)


class TwinApi:
    """A WSGI application serving the API over twin services; `state()` is everything a request
    could change, for comparing before and after."""

    token = "token"

    def __init__(self) -> None:
        self.world = World(limit_store=InMemoryLimitStore())
        w = self.world
        self.schedule_store = InMemorySchedules(w.clock)
        self.services = SimpleNamespace(
            keys=w.keys,
            publish=w.publish,
            messages=w.messages,
            dead_letters=w.dead_letters,
            history=w.history,
            url_groups=w.groups,
            schedules=Schedules(
                store=self.schedule_store,
                firings=w.history,
                clock=w.clock,
                limits=w.limits,
                allow_private_destinations=False,
                url_groups=w.groups,
            ),
            queues=w.queues,
            flow_control=FlowControls(store=w.limit_store, clock=w.clock, parallelism_max=500),
            # No run driver twin yet: the workflow routes answer 404 "not configured".
            workflow_runs=None,
            settings=SimpleNamespace(config=DEFAULT_CONFIG),
        )
        self.api = build_api(lambda: self.services)

    def seed(self) -> None:
        """Pending messages, a URL group and a schedule a refused request must leave alone."""
        for i in range(3):
            self.world.send(headers={"Upstash-Delay": "1h", "Upstash-Label": f"seed{i}"})
        self.world.groups.upsert_endpoints("seeded", {"endpoints": [{"url": "https://target.example/g"}]})
        self.services.schedules.create(
            destination="https://target.example/s",
            headers={"Upstash-Cron": "0 * * * *"},
            body=b"",
            caller_ip=None,
        )

    def state(self) -> dict[str, Any]:
        every = Query(count=1_000_000)
        w = self.world
        return {
            "events": [(e.message_id, str(e.state)) for e in w.history.query_events(every)],
            "cancel_requested": sorted(
                e.message_id
                for e in w.history.query_events(every)
                if w.history.cancel_requested(e.message_id)
            ),
            "queued": sorted(e.id for e in w.queue.pending()),
            "dead_letters": sorted(d.dlq_id for d in w.history.query_dead_letters(every)),
            "groups": sorted((g.name, len(g.endpoints)) for g in w.groups.list()),
            "schedules": sorted((s.schedule_id, s.paused) for s in self.schedule_store.items.values()),
            "keys": (w.keys.current(), w.keys.next()),
        }

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        headers = {
            key[5:].replace("_", "-").lower(): value
            for key, value in environ.items()
            if key.startswith("HTTP_")
        }
        if environ.get("CONTENT_TYPE"):
            headers["content-type"] = environ["CONTENT_TYPE"]
        path = environ.get("PATH_INFO", "/").encode("latin-1").decode("utf-8", "replace")
        query = environ.get("QUERY_STRING", "")
        target = f"{path}?{query}" if query else path
        event = http_event(environ["REQUEST_METHOD"], target, headers=headers, body=body)
        response = self.api.handle(event, None)
        data = response.get("body") or ""
        raw = base64.b64decode(data) if response.get("isBase64Encoded") else data.encode()
        status = int(response["statusCode"])
        start_response(f"{status} X", list((response.get("headers") or {}).items()))
        return [raw]
