"""Each API request is served by an instance of its own: concurrent requests never see each other's
event (issue 9, item 9), and a test can build an API around services of its own."""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace

from ferry.api.app import ApiInstances, build_api
from tests.support.api_events import http_event

TOKEN = {"Authorization": "Bearer test-token"}


class Answer(SimpleNamespace):
    def to_body(self) -> dict:
        return dict(vars(self))


def overlapping_services(parties: int) -> SimpleNamespace:
    """Services whose token check holds every request until `parties` of them are in flight at
    once, so each handler reads its request after all the others have started."""
    barrier = threading.Barrier(parties, timeout=10)

    def is_valid(token: str) -> bool:
        barrier.wait()
        return token == "test-token"

    def publish(*, destination, headers, body, caller_ip, queue):
        return Answer(messageId=f"msg-{destination.rsplit('/', 1)[-1]}", url=destination)

    return SimpleNamespace(
        keys=SimpleNamespace(is_valid=is_valid),
        publish=publish,
        url_groups=SimpleNamespace(get=lambda name: Answer(name=name, endpoints=[])),
    )


def request(i: int) -> tuple[dict, dict]:
    """A mixed workload: publishes to `/x/<i>` and URL group reads of `g-<i>`."""
    if i % 2:
        return http_event("GET", f"/v2/topics/g-{i}", headers=TOKEN), {"name": f"g-{i}", "endpoints": []}
    url = f"http://127.0.0.1:9/x/{i}"
    return (
        http_event("POST", f"/v2/publish/{url}", headers=TOKEN, body=b"hi"),
        {"messageId": f"msg-{i}", "url": url},
    )


def test_concurrent_requests_each_get_their_own_answer():
    parties = 40
    svc = overlapping_services(parties)
    handle = ApiInstances(lambda: svc)
    cases = [request(i) for i in range(parties)]
    with ThreadPoolExecutor(max_workers=parties) as pool:
        responses = list(pool.map(lambda case: handle(case[0], None), cases))
    for (_, expected), response in zip(cases, responses, strict=True):
        assert response["statusCode"] == 200, response["body"]
        assert json.loads(response["body"]) == expected


def test_instances_are_reused_once_free():
    svc = SimpleNamespace(
        keys=SimpleNamespace(is_valid=lambda token: True),
        url_groups=SimpleNamespace(get=lambda name: Answer(name=name)),
    )
    handle = ApiInstances(lambda: svc)
    idle_after = []
    for i in range(5):
        response = handle(http_event("GET", f"/v2/topics/g{i}", headers=TOKEN), None)
        assert json.loads(response["body"]) == {"name": f"g{i}"}
        idle_after.append(handle._idle.qsize())
    assert idle_after == [1, 1, 1, 1, 1]  # one instance, built once, serves sequential requests


def test_an_api_built_with_its_own_services_uses_them():
    mine = SimpleNamespace(
        keys=SimpleNamespace(is_valid=lambda token: token == "mine"),
        url_groups=SimpleNamespace(get=lambda name: Answer(owner="mine")),
    )
    api = build_api(lambda: mine)
    ok = api.handle(http_event("GET", "/v2/topics/a", headers={"Authorization": "Bearer mine"}), None)
    assert json.loads(ok["body"]) == {"owner": "mine"}
    refused = api.handle(http_event("GET", "/v2/topics/a", headers=TOKEN), None)
    assert refused["statusCode"] == 401


def test_route_annotations_are_evaluated_once_when_declared_not_on_every_request():
    # powertools reads a route's and its dependencies' type hints on every request; string
    # annotations (`from __future__ import annotations`) would be compiled again each time.
    from ferry.api.app import ROUTES
    from ferry.api.routing import services_of

    handlers = [func for routes in ROUTES for *_, func in routes._declared] + [services_of]
    unevaluated = {
        f"{func.__module__}.{func.__qualname__}": name
        for func in handlers
        for name, annotation in func.__annotations__.items()
        if isinstance(annotation, str)
    }
    assert len(handlers) > 20
    assert unevaluated == {}
