"""schemathesis against the generated OpenAPI document, calling the real API handler in process
(tests/support/wsgi_api.py: routes, validation and use cases over the in-memory twins, so no
generated destination is ever contacted). For every operation, with the token: no 5xx, every error
is JSON with `error`, and a refused request changes nothing (nothing enqueued, cancelled, deleted,
rotated). `FERRY_FUZZ_EXAMPLES` sets the examples per operation (50 here, more under `make fuzz`)."""

from __future__ import annotations

import json
import os

import schemathesis
from hypothesis import HealthCheck, settings

from ferry.api import openapi
from tests.support.wsgi_api import TwinApi

EXAMPLES = int(os.environ.get("FERRY_FUZZ_EXAMPLES", "50"))

API = TwinApi()
API.seed()
schema = schemathesis.openapi.from_dict(json.loads(openapi.document_text()))
schema.app = API


def test_every_route_of_the_document_is_fuzzed():
    operations = [op for op in schema.get_all_operations()]
    assert len(operations) >= 30


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
    database=None,
)
def test_no_server_error_and_refusals_are_json_and_change_nothing(case):
    before = API.state()
    response = case.call(headers={"Authorization": f"Bearer {API.token}"})
    assert response.status_code < 500, response.text[:500]
    if response.status_code >= 400:
        content_type = (response.headers.get("content-type") or [""])[0]
        assert content_type.startswith("application/json"), response.text[:200]
        body = response.json()
        assert isinstance(body, dict) and isinstance(body.get("error"), str) and body["error"], body
        assert API.state() == before, f"{case.method} {case.formatted_path} was refused but changed state"


def test_the_refusal_check_can_fail():
    """A state change after a refused request is caught (the check above is not vacuous)."""
    before = API.state()
    API.world.send(headers={"Upstash-Delay": "1h"})
    assert API.state() != before
