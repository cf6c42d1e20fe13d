"""The OpenAPI document (ferry/api/openapi.json): valid, in sync with the registered routes and the
publish headers the code reads, copied to docs/, and served by `GET /v2/openapi.json`."""

from __future__ import annotations

import json
import pathlib
import re
from types import SimpleNamespace

import pytest
from openapi_spec_validator import validate

from ferry.api import openapi as openapi_router
from ferry.api.app import build_api
from ferry.dev.gateway import to_event
from ferry.domain import publish_request

ROOT = pathlib.Path(__file__).resolve().parents[2]
DOCUMENT = ROOT / "ferry" / "api" / "openapi.json"
DOCS_COPY = ROOT / "docs" / "openapi.json"
METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}
# Operations of features still being built may be documented before their routes land.
PENDING_FEATURES = {"schedules"}
# A greedy route (`<prefix>/.+`, or `<prefix>/https?:.+`) stands for these path templates.
GREEDY = {"/v2/enqueue/": "{queueName}/{destination}"}
GREEDY_DEFAULT = "{destination}"


@pytest.fixture(scope="module")
def document() -> dict:
    return json.loads(DOCUMENT.read_text(encoding="utf-8"))


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


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.capitalize() for part in rest)


# Rules that serve another operation's path: creating a schedule for a URL group (a plain name)
# is the same operation as for a URL; OpenAPI cannot hold two POST templates of one shape.
RULE_ALIASES = {"/v2/schedules/<url_group>": "/v2/schedules/{destination}"}


def template_of(rule: str) -> str:
    """Resolver rule -> OpenAPI path template: `<message_id>` -> `{messageId}`; a greedy tail
    (`.+`, `https?:.+`) -> `{destination}` (`{queueName}/{destination}` for enqueue)."""
    if rule in RULE_ALIASES:
        return RULE_ALIASES[rule]
    greedy = re.fullmatch(r"(.*/)(?:https\?:)?\.\+", rule)
    if greedy:
        prefix = greedy.group(1)
        rule = prefix + GREEDY.get(prefix, GREEDY_DEFAULT)
    path = re.sub(r"<(\w+)>", lambda m: "{" + _camel(m.group(1)) + "}", rule)
    leftover = re.sub(r"\{\w+\}", "", path)
    assert not re.search(r"[\\^$*+?()\[\]|<>]", leftover), (
        f"route {rule!r} uses regex syntax this test cannot map to an OpenAPI path; extend template_of()"
    )
    return path


def registered_routes() -> dict[tuple[str, str], str]:
    """(METHOD, OpenAPI path) -> the resolver's rule, for every route the app serves."""
    routes = {}
    app = build_api()
    for route in [*app._static_routes, *app._dynamic_routes]:
        if not route.include_in_schema:
            continue  # the dashboard's page and files (ferry/api/dashboard.py), not API operations
        routes[(route.method.upper(), template_of(route.path))] = route.path
    return routes


# --- (a) valid OpenAPI 3.1 -------------------------------------------------------------------


def test_document_is_valid_openapi_3_1(document):
    assert document["openapi"].startswith("3.1")
    validate(document)


def test_every_operation_has_a_unique_id_and_documents_auth_and_errors(document):
    ids = [op["operationId"] for op in operations(document).values()]
    assert len(ids) == len(set(ids))
    for (method, path), op in operations(document).items():
        assert "401" in op["responses"], f"{method} {path} must document 401: every route needs the token"
        for status, response in op["responses"].items():
            if status.startswith(("4", "5")):
                schema = resolve_ref(document, response)["content"]["application/json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/Error"}, f"{method} {path} {status}"
    assert {"bearerAuth", "qstashToken"} <= set(document["components"]["securitySchemes"])
    assert document["security"] == [{"bearerAuth": []}, {"qstashToken": []}]


# --- (b) in sync with the registered routes --------------------------------------------------


def test_rule_mapping():
    assert template_of("/v2/publish/.+") == "/v2/publish/{destination}"
    assert template_of("/v2/enqueue/.+") == "/v2/enqueue/{queueName}/{destination}"
    assert template_of("/v2/schedules/https?:.+") == "/v2/schedules/{destination}"
    assert template_of("/v2/messages/<message_id>") == "/v2/messages/{messageId}"
    assert template_of("/v2/schedules/<schedule_id>/pause") == "/v2/schedules/{scheduleId}/pause"


def test_every_route_is_documented(document):
    documented = operations(document)
    missing = sorted(
        f"{m} {p} (rule {rule})" for (m, p), rule in registered_routes().items() if (m, p) not in documented
    )
    assert not missing, "routes without an OpenAPI operation: " + ", ".join(missing)


def test_every_operation_has_a_route(document):
    routes = registered_routes()
    missing = sorted(
        f"{m} {p}"
        for (m, p), op in operations(document).items()
        if (m, p) not in routes and op.get("x-ferry-feature") not in PENDING_FEATURES
    )
    assert not missing, "OpenAPI operations with no route: " + ", ".join(missing)


def test_greedy_routes_name_their_real_rule(document):
    routes = registered_routes()
    for key, op in operations(document).items():
        if key in routes and ".+" in routes[key]:
            assert op.get("x-ferry-route") == routes[key], f"{key}: x-ferry-route should be {routes[key]!r}"


def test_path_parameters_match_the_template(document):
    for (method, path), op in operations(document).items():
        declared = {
            resolve_ref(document, param)["name"]
            for param in op.get("parameters", [])
            if resolve_ref(document, param)["in"] == "path"
        }
        assert declared == set(re.findall(r"\{(\w+)\}", path)), f"{method} {path}"


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
    read = _literal_headers(pathlib.Path(publish_request.__file__)) | {"Content-Type"}
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
    text = DOCUMENT.read_text(encoding="utf-8")
    assert f"{limits.max_body_bytes:,}" in text
    assert f"0 to {limits.max_retries}" in text
    assert f"1 s to {limits.max_timeout_seconds} s" in text
    assert f"{limits.max_delay_seconds:,} s" in text


# --- (d) docs/openapi.json is a copy ------------------------------------------------------------


def test_docs_copy_is_identical():
    assert DOCS_COPY.read_bytes() == DOCUMENT.read_bytes(), "copy ferry/api/openapi.json to docs/openapi.json"


# --- (e) served by the API ----------------------------------------------------------------------


def test_route_function_returns_the_document():
    response = openapi_router.openapi_document()
    assert response.status_code == 200
    assert response.body == DOCUMENT.read_text(encoding="utf-8")


# The token check asks the key store; stand one in so no stack is needed.
FAKE_SERVICES = SimpleNamespace(keys=SimpleNamespace(is_valid=lambda token: token == "test-token"))


def _get(path: str, headers: list[tuple[str, str]]) -> dict:
    event = to_event(method="GET", target=path, headers=headers, body=b"", source_ip="203.0.113.7")
    return build_api(lambda: FAKE_SERVICES).handle(event, None)


def test_served_in_process_behind_the_token_check():

    response = _get("/v2/openapi.json", [("Authorization", "Bearer test-token")])
    assert response["statusCode"] == 200
    assert response["headers"]["Content-Type"] == "application/json"
    assert response["body"] == DOCUMENT.read_text(encoding="utf-8")

    assert _get("/v2/openapi.json?qstash_token=test-token", [])["statusCode"] == 200
    unauthenticated = _get("/v2/openapi.json", [])
    assert unauthenticated["statusCode"] == 401
    assert "error" in json.loads(unauthenticated["body"])
    assert _get("/v2/openapi.json", [("Authorization", "Bearer wrong")])["statusCode"] == 401
