"""The real API handler (`ferry.api.app.build_api`: resolver, validation, routers, use cases) over
services wired to the in-memory twins, behind a WSGI adapter so that schemathesis can call it in
process: no socket, no AWS, and nothing is ever delivered (the twin target records, never connects)."""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterable
from types import SimpleNamespace
from typing import Any

from ferry.adapters.memory.limits import InMemoryLimitStore
from ferry.adapters.memory.schedules import InMemorySchedules
from ferry.api.app import build_api
from ferry.config import DEFAULT_CONFIG
from ferry.domain.queries import Query
from ferry.usecases.flow_control import FlowControls
from ferry.usecases.schedules import Schedules
from tests.support.api_events import http_event
from tests.support.twins import World


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
            "schedules": [(i, self.schedule_store.get(i).paused) for i in self.schedule_store.ids()],
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
