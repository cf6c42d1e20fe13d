"""An endpoint's name in a URL group follows the group name's rule: letters, digits, '-', '_' and
'.', at most 80. Anything else is refused with the field to change, and the group stays as it was
(a name that cannot be encoded once made every later publish to the group fail)."""

from __future__ import annotations

import json
from dataclasses import replace
from types import SimpleNamespace

import pytest

from ferry.adapters.memory.clock import ManualClock
from ferry.adapters.memory.url_groups import InMemoryUrlGroups
from ferry.api.app import build_api
from ferry.domain.errors import InvalidInput
from ferry.domain.url_groups import Endpoint
from ferry.usecases.url_groups import UrlGroups
from tests.support.api_events import http_event

URL = "https://example.com/"
HEADERS = {"Authorization": "Bearer t", "Content-Type": "application/json"}
OUTSIDE_THE_RULE = {
    "surrogate": "a\ud800",
    "300k": "x" * 300_000,
    "crlf": "x\r\ny",
    "81": "x" * 81,
    "space": "a b",
    "slash": "a/b",
    "non-ascii": "caf\u00e9",
}


def seeded_groups(store: InMemoryUrlGroups | None = None) -> UrlGroups:
    groups = UrlGroups(
        store=store or InMemoryUrlGroups(), clock=ManualClock(), allow_private_destinations=False
    )
    groups.upsert_endpoints("g1", {"endpoints": [{"url": URL + "a", "name": "a"}]})
    return groups


@pytest.mark.parametrize("name", OUTSIDE_THE_RULE.values(), ids=OUTSIDE_THE_RULE.keys())
def test_an_endpoint_name_outside_the_group_name_rule_is_refused_and_changes_nothing(name):
    groups = seeded_groups()
    before = groups.get("g1")
    body = {"endpoints": [{"url": URL + "b", "name": "b"}, {"url": URL + "c", "name": name}]}
    with pytest.raises(InvalidInput, match="letters, digits") as refused:
        groups.upsert_endpoints("g1", body)
    assert refused.value.field == "endpoints[1].name"
    assert len(refused.value.message) < 200  # a long name is echoed cut short
    assert groups.get("g1") == before
    with pytest.raises(InvalidInput):
        groups.upsert_endpoints("g2", body)
    assert [g.name for g in groups.list()] == ["g1"]  # no group created either


def test_an_endpoint_stored_before_the_rule_is_still_removed_by_its_name():
    store = InMemoryUrlGroups()
    groups = seeded_groups(store)
    legacy = store.get("g1")
    store.put(replace(legacy, endpoints=(*legacy.endpoints, Endpoint(url=URL + "old", name="Billing API"))))
    groups.remove_endpoints("g1", {"endpoints": [{"name": "Billing API"}]})
    assert [e.name for e in groups.get("g1").endpoints] == ["a"]


@pytest.mark.parametrize("name", ["b", "x" * 80, "Ab-9_c.d"])
def test_an_endpoint_name_within_the_rule_is_kept(name):
    groups = seeded_groups()
    groups.upsert_endpoints("g1", {"endpoints": [{"url": URL + "b", "name": name}]})
    assert [e.name for e in groups.get("g1").endpoints] == ["a", name]


@pytest.mark.parametrize(
    ("name", "field"),
    [
        (json.dumps("x" * 300_000), "endpoints[0].name"),
        (json.dumps("x\r\ny"), "endpoints[0].name"),
        ('"a\\ud800"', "body"),  # a lone surrogate is not JSON text at all (test_json_bodies.py)
    ],
    ids=["300k", "crlf", "surrogate"],
)
def test_the_api_refuses_such_a_name_with_a_400_naming_the_field(name, field):
    groups = seeded_groups()
    before = groups.get("g1")
    api = build_api(
        lambda: SimpleNamespace(keys=SimpleNamespace(is_valid=lambda t: t == "t"), url_groups=groups)
    )
    raw = '{"endpoints": [{"url": "' + URL + 'b", "name": ' + name + "}]}"
    answer = api.handle(http_event("POST", "/v2/topics/g1/endpoints", headers=HEADERS, body=raw), None)
    assert answer["statusCode"] == 400
    error = json.loads(answer["body"])
    assert error["field"] == field
    assert error["error"]
    assert groups.get("g1") == before
