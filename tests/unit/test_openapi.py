"""The OpenAPI document: generated from the routes and request models, valid OpenAPI 3.1, covering
every route and every publish header the code reads, with the one error shape; docs/openapi.json is
the generated document, and `GET /v2/openapi.json` serves it behind the token."""

from __future__ import annotations

import json
import pathlib
import re
from types import SimpleNamespace

import pytest
from openapi_spec_validator import validate

from ferry.api import openapi as openapi_module
from ferry.api.app import build_api
from ferry.domain import http_headers, publish_request
from tests.support.api_events import http_event

ROOT = pathlib.Path(__file__).resolve().parents[2]
DOCS_COPY = ROOT / "docs" / "openapi.json"
METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}


@pytest.fixture(scope="module")
def document() -> dict:
    return json.loads(openapi_module.document_text())


def operations(document: dict) -> dict[tuple[str, str], dict]:
    return {
        (method.upper(), path): operation
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in METHODS
    }


def resolve_ref(document: dict, node: dict) -> dict:
    while "$ref" in node:
        target = document
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


# --- (a) valid OpenAPI 3.1 -------------------------------------------------------------------


def test_document_is_valid_openapi_3_1(document):
    assert document["openapi"].startswith("3.1")
    validate(document)


def test_every_operation_has_a_unique_id_and_documents_auth_and_errors(document):
    ids = [op["operationId"] for op in operations(document).values()]
    assert len(ids) == len(set(ids))
    for (method, path), op in operations(document).items():
        assert "401" in op["responses"], f"{method} {path} must document 401: every route needs the token"
        assert "422" not in op["responses"], "validation errors are 400s with the Error shape"
        for status, response in op["responses"].items():
            if status.startswith(("4", "5")):
                schema = resolve_ref(document, response)["content"]["application/json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/Error"}, f"{method} {path} {status}"
    assert {"bearerAuth", "qstashToken"} <= set(document["components"]["securitySchemes"])
    assert document["security"] == [{"bearerAuth": []}, {"qstashToken": []}]


# --- (b) every route, with its request models ------------------------------------------------


def test_every_route_is_an_operation(document):
    app = build_api()
    documented = operations(document)
    for route in [*app._static_routes, *app._dynamic_routes]:
        if not route.include_in_schema:
            continue  # the dashboard's page and files (ferry/api/dashboard.py), not API operations
        rule = route.openapi_path
        template, _ = openapi_module.GREEDY.get(rule, (rule, ()))
        template = re.sub(r"\{(\w+)\}", lambda m: "{" + openapi_module._camel(m.group(1)) + "}", template)
        assert (route.method.upper(), template) in documented, f"{route.method} {rule} is not documented"
    regex_rules = {
        r.openapi_path for r in [*app._static_routes, *app._dynamic_routes] if ".+" in r.openapi_path
    }
    assert regex_rules <= set(openapi_module.GREEDY), "map every regex route to a path template in GREEDY"


def test_path_parameters_match_the_template(document):
    for (method, path), op in operations(document).items():
        declared = {
            resolve_ref(document, param)["name"]
            for param in op.get("parameters", [])
            if resolve_ref(document, param)["in"] == "path"
        }
        assert declared == set(re.findall(r"\{(\w+)\}", path)), f"{method} {path}"


def test_bodies_and_filters_come_from_the_request_models(document):
    ops = operations(document)
    schemas = document["components"]["schemas"]
    assert {"MessageIds", "DlqIds", "BatchItem", "Endpoints"} <= set(schemas)
    assert schemas["MessageIds"]["additionalProperties"] is False
    query = {p["name"] for p in ops[("GET", "/v2/events")]["parameters"] if p["in"] == "query"}
    assert {"state", "fromDate", "toDate", "cursor", "count", "order", "messageIds"} <= query
    state = next(p for p in ops[("GET", "/v2/events")]["parameters"] if p["name"] == "state")
    assert "NOTASTATE" not in json.dumps(state) and "CREATED" in json.dumps(state)


# --- (c) every header the code reads is documented ----------------------------------------------


def _literal_headers(module_path: pathlib.Path) -> set[str]:
    return set(re.findall(r'"(Upstash-[A-Za-z-]*)"', module_path.read_text()))


def _header_params(document: dict, op: dict) -> set[str]:
    return {
        resolve_ref(document, param)["name"].lower()
        for param in op.get("parameters", [])
        if resolve_ref(document, param)["in"] == "header"
    }


def _documented(name: str, params: set[str], prefixes: set[str]) -> bool:
    if name.endswith("-"):  # a family such as `Upstash-Forward-<Name>`
        return name.lower() in prefixes
    return name.lower() in params


def test_every_publish_header_is_documented_on_publish_and_enqueue(document):
    read = (
        _literal_headers(pathlib.Path(publish_request.__file__))
        | _literal_headers(pathlib.Path(http_headers.__file__))
        | {"Content-Type"}
    )
    read.discard("Upstash-")  # the prefix callback configuration is re-emitted under, not a request header
    read.discard("Upstash-Cron")  # read only to refuse it on publish: it belongs to /v2/schedules
    # Callback options are read as `<prefix>-<Option>`: spell them out.
    for prefix in ("Upstash-Callback", "Upstash-Failure-Callback"):
        assert prefix in read
        read |= {
            f"{prefix}-{publish_request.canonical_header(opt)}" for opt in publish_request._CALLBACK_OPTIONS
        }
        read |= {f"{prefix}-Forward-", f"{prefix}-"}
    assert {"Upstash-Retries", "Upstash-Delay", "Upstash-Forward-"} <= read  # the grep found the literals
    ops = operations(document)
    for key in (("POST", "/v2/publish/{destination}"), ("POST", "/v2/enqueue/{queueName}/{destination}")):
        op = ops[key]
        params = _header_params(document, op)
        prefixes = {family["prefix"].lower() for family in op.get("x-ferry-header-prefixes", [])}
        missing = sorted(name for name in read if not _documented(name, params, prefixes))
        assert not missing, f"{key}: headers read by publish_request.py but not documented: {missing}"


def test_schedule_headers_are_documented(document):
    from ferry.usecases import schedules

    op = operations(document)[("POST", "/v2/schedules/{destination}")]
    params = _header_params(document, op)
    refused = {name.lower() for name in schedules.NOT_FOR_SCHEDULES}
    read = {name.lower() for name in _literal_headers(pathlib.Path(schedules.__file__))} - refused
    assert "upstash-cron" in read
    assert not read - params, f"schedule headers not documented: {sorted(read - params)}"
    assert not refused & params, "headers schedules refuse must not be documented as accepted"


def test_documented_limits_match_the_code(document):
    from ferry.config import DEFAULT_CONFIG

    limits = DEFAULT_CONFIG.limits
    text = openapi_module.document_text()
    assert f"{limits.max_body_bytes:,}" in text
    assert f"0 to {limits.max_retries}" in text
    assert f"1 s to {limits.max_timeout_seconds} s" in text
    assert f"{limits.max_delay_seconds:,} s" in text


# --- (d) docs/openapi.json is the generated document ------------------------------------------


def test_docs_copy_is_the_generated_document():
    assert DOCS_COPY.read_text(encoding="utf-8") == openapi_module.document_text(), (
        "regenerate it: python -m ferry.api.openapi > docs/openapi.json"
    )


def test_there_is_no_hand_written_copy_in_the_package():
    assert not (ROOT / "ferry" / "api" / "openapi.json").exists()


# --- (e) served by the API ----------------------------------------------------------------------

# The token check asks the key store; stand one in so no stack is needed.
FAKE_SERVICES = SimpleNamespace(keys=SimpleNamespace(is_valid=lambda token: token == "test-token"))


def _get(target: str, headers: dict[str, str] | None = None) -> dict:
    return build_api(lambda: FAKE_SERVICES).handle(http_event("GET", target, headers=headers), None)


def test_served_in_process_behind_the_token_check():
    response = _get("/v2/openapi.json", {"Authorization": "Bearer test-token"})
    assert response["statusCode"] == 200
    assert response["headers"]["Content-Type"] == "application/json"
    assert response["body"] == openapi_module.document_text()

    assert _get("/v2/openapi.json?qstash_token=test-token")["statusCode"] == 200
    unauthenticated = _get("/v2/openapi.json")
    assert unauthenticated["statusCode"] == 401
    assert "error" in json.loads(unauthenticated["body"])
    assert _get("/v2/openapi.json", {"Authorization": "Bearer wrong"})["statusCode"] == 401
