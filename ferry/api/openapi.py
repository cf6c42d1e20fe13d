"""The OpenAPI document of the whole API, generated from the routes and request models
(powertools' `get_openapi_schema`) and served by `GET /v2/openapi.json` behind the token like
every other route. `docs/openapi.json` is a generated copy (`python -m ferry.api.openapi`), checked
by tests/unit/test_openapi.py.

powertools cannot see three things, which are added here: the regex routes' path templates
(`/v2/publish/.+` -> `/v2/publish/{destination}`), the publish headers (`header_docs`), and the
error answers of the one error mapping (`{"error", "field"}` instead of powertools' 422).
"""

from __future__ import annotations

import json
import re
from functools import cache
from typing import Any

from aws_lambda_powertools.event_handler import Response

from ferry.api.header_docs import (
    HEADER_PREFIXES,
    PUBLISH_HEADERS,
    RETRY_HEADERS,
    SCHEDULE_HEADERS,
    HeaderDocs,
)
from ferry.api.routing import Routes
from ferry.config import DEFAULT_CONFIG

routes = Routes()

DOCUMENT_PATH = "/v2/openapi.json"
METHODS = ("get", "put", "post", "delete", "patch")

INFO = {
    "title": "Ferry API",
    "version": "0.1.0",
    "summary": "QStash-compatible serverless background jobs in your own AWS account.",
    "description": (
        "The HTTP API of Ferry. It speaks QStash's REST API v2 wire format, so the official QStash "
        "SDKs work with `QSTASH_URL` pointed at Ferry. Where Ferry differs from QStash, see "
        "docs/compatibility.md; a guide with examples, and what each error looks like, is docs/api.md. "
        "This document is generated from the routes and request models (ferry/api/openapi.py). "
        "`x-ferry-route` gives the resolver's real (regex) route where a path template cannot express it."
    ),
}
SERVERS = [
    {"url": "http://127.0.0.1:8080", "description": "`ferry dev` (default port)"},
    {
        "url": "https://{apiId}.execute-api.{region}.amazonaws.com",
        "description": "A deployed stack: the `ApiUrl` output of `cdk deploy`.",
        "variables": {"apiId": {"default": "abc123"}, "region": {"default": "us-east-1"}},
    },
]
SECURITY_SCHEMES = {
    "bearerAuth": {"type": "http", "scheme": "bearer", "description": "`Authorization: Bearer <token>`"},
    "qstashToken": {"type": "apiKey", "in": "query", "name": "qstash_token"},
}
# A regex route -> (path template, its path parameters). Creating a schedule for a URL group (a
# plain name) is the same operation as for a URL.
GREEDY = {
    "/v2/publish/.+": ("/v2/publish/{destination}", ("destination",)),
    "/v2/enqueue/.+": ("/v2/enqueue/{queueName}/{destination}", ("queueName", "destination")),
    "/v2/schedules/https?:.+": ("/v2/schedules/{destination}", ("destination",)),
    "/v2/schedules/{url_group}": ("/v2/schedules/{destination}", ("destination",)),
}
PATH_DESCRIPTIONS = {
    "destination": (
        "An absolute http(s) URL, unencoded (its query string is the request's), or a URL group name."
    ),
    "queueName": "`[A-Za-z0-9._-]{1,80}`",
}
HEADERS_OF = {
    "/v2/publish/{destination}": PUBLISH_HEADERS,
    "/v2/enqueue/{queueName}/{destination}": PUBLISH_HEADERS,
    "/v2/schedules/{destination}": SCHEDULE_HEADERS,
    "/v2/dlq/retry": RETRY_HEADERS,
    "/v2/dlq/retry/{dlqId}": RETRY_HEADERS,
}
RAW_BODY = {
    "description": (
        f"Delivered byte for byte (any content type), at most {DEFAULT_CONFIG.limits.max_body_bytes:,} bytes "
        "(a larger body is refused with 413)."
    ),
    "content": {"*/*": {"schema": {}}},
}
ERRORS = {
    "400": ("BadRequest", "A header, parameter or body field cannot be accepted; `field` names it."),
    "401": ("Unauthorized", "Missing or wrong token."),
    "404": ("NotFound", "No such message, DLQ entry, schedule, URL group or route."),
    "413": ("PayloadTooLarge", "The body is larger than a message can carry."),
    "503": ("Unavailable", "Storage is throttling or did not answer; retry after `Retry-After` seconds."),
}
ERROR_SCHEMA = {
    "type": "object",
    "description": (
        "Every error. `error` says what to change; `field` names the header, parameter or body field "
        "at fault, when there is one."
    ),
    "required": ["error"],
    "properties": {"error": {"type": "string"}, "field": {"type": "string"}},
    "example": {"error": "Upstash-Retries: 50 is out of range; use 0 to 20", "field": "Upstash-Retries"},
}


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def _header_parameters(names: tuple[str, ...]) -> list[dict[str, Any]]:
    properties = HeaderDocs.model_json_schema(by_alias=True)["properties"]
    parameters = []
    for name in names:
        prop = dict(properties[name])
        description = prop.pop("description", "")
        prop.pop("title", None)
        prop.pop("default", None)
        schema = next((s for s in prop.pop("anyOf", []) if s.get("type") != "null"), {"type": "string"})
        schema.update(prop)
        parameters.append(
            {"name": name, "in": "header", "required": False, "description": description, "schema": schema}
        )
    return parameters


def _query_models(app: Any) -> dict[tuple[str, str], Any]:
    """(method, rule) -> the pydantic model of its query string, for routes that have one."""
    from pydantic import BaseModel

    models = {}
    for route in [*app._static_routes, *app._dynamic_routes]:
        for param in route.dependant.query_params:
            annotation = param.field_info.annotation
            if isinstance(annotation, type) and issubclass(annotation, BaseModel):
                models[(route.method.lower(), route.openapi_path)] = annotation
    return models


def _with_model_schemas(parameters: list[dict[str, Any]], model: Any) -> None:
    """powertools flattens a query model into plain strings; put each field's real schema back."""
    properties = model.model_json_schema()["properties"]
    for param in parameters:
        prop = properties.get(param["name"]) if param["in"] == "query" else None
        if prop is None:
            continue
        prop = dict(prop)
        prop.pop("title", None)
        if "description" in prop:
            param["description"] = prop.pop("description")
        variants = [v for v in prop.pop("anyOf", [prop]) if v.get("type") != "null"]
        param["schema"] = variants[0] if len(variants) == 1 else {"anyOf": variants}
        if "default" in prop and prop["default"] is not None:
            param["schema"]["default"] = prop["default"]
        if param["schema"].get("type") == "array":
            param["style"], param["explode"] = "form", True


def _operation(
    rule: str, method: str, op: dict[str, Any], seen_ids: set[str], query_model: Any = None
) -> tuple[str, dict[str, Any]]:
    if query_model is not None:
        _with_model_schemas(op.get("parameters", []), query_model)
    template, greedy_params = GREEDY.get(rule, (rule, ()))
    if greedy_params:
        op["x-ferry-route"] = rule.replace("{url_group}", "<url_group>")
        op["parameters"] = [
            {
                "name": n,
                "in": "path",
                "required": True,
                "schema": {"type": "string"},
                "description": PATH_DESCRIPTIONS[n],
            }
            for n in greedy_params
        ] + [p for p in op.get("parameters", []) if p["in"] != "path"]
    # Path parameters in the SDKs' spelling: `{message_id}` -> `{messageId}`.
    template = re.sub(r"\{(\w+)\}", lambda m: "{" + _camel(m.group(1)) + "}", template)
    for param in op.get("parameters", []):
        if param["in"] == "path":
            param["name"] = _camel(param["name"])
    if template in HEADERS_OF:
        op.setdefault("parameters", []).extend(_header_parameters(HEADERS_OF[template]))
    if template.startswith(("/v2/publish/", "/v2/enqueue/")):
        op["x-ferry-header-prefixes"] = HEADER_PREFIXES
    if template.startswith(("/v2/publish/", "/v2/enqueue/", "/v2/schedules/{destination}")):
        op["requestBody"] = RAW_BODY
    function = op.pop("operationId").split("_v2_")[0]
    operation_id = _camel(function)
    if operation_id in seen_ids:
        operation_id += method.capitalize() + "".join(
            part.capitalize() for part in re.findall(r"[a-z]+", template.rsplit("/", 1)[-1])
        )
    seen_ids.add(operation_id)
    op["operationId"] = operation_id
    op["tags"] = [template.split("/")[2]]
    success = op["responses"].pop("200", {"description": "OK"})
    success.setdefault("content", {"application/json": {"schema": {}}})
    for content in success["content"].values():
        content.setdefault("schema", {})
    op["responses"] = {"200": success} | {
        status: {"$ref": f"#/components/responses/{name}"} for status, (name, _) in ERRORS.items()
    }
    return template, op


def openapi_document(app: Any) -> dict[str, Any]:
    """The document of `app` (a `FerryApi`), as a JSON-ready dict."""
    schema = app.get_openapi_schema(
        title=INFO["title"],
        version=INFO["version"],
        openapi_version="3.1.0",
        summary=INFO["summary"],
        description=INFO["description"],
        servers=SERVERS,
        security_schemes=SECURITY_SCHEMES,
        security=[{"bearerAuth": []}, {"qstashToken": []}],
    )
    raw = schema.model_dump(mode="json", by_alias=True, exclude_none=True)
    paths: dict[str, dict[str, Any]] = {}
    seen_ids: set[str] = set()
    query_models = _query_models(app)
    for rule in sorted(raw["paths"], key=lambda r: (r.count("{"), r)):
        for method, op in raw["paths"][rule].items():
            if method not in METHODS:
                continue
            template, operation = _operation(rule, method, op, seen_ids, query_models.get((method, rule)))
            if method in paths.get(template, {}):
                continue  # the URL-group alias of schedule creation
            paths.setdefault(template, {})[method] = operation
    components = raw.get("components", {})
    schemas = {
        name: s
        for name, s in components.get("schemas", {}).items()
        if name not in ("HTTPValidationError", "ValidationError", "ResponseValidationError")
    }
    schemas["Error"] = ERROR_SCHEMA
    error_content = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    responses = {name: {"description": text, "content": error_content} for name, text in ERRORS.values()}
    responses["Unavailable"]["headers"] = {"Retry-After": {"schema": {"type": "integer"}}}
    return {
        "openapi": raw["openapi"],
        "info": raw["info"],
        "servers": raw.get("servers", SERVERS),
        "security": raw.get("security", []),
        "paths": dict(sorted(paths.items())),
        "components": {
            "securitySchemes": components.get("securitySchemes", SECURITY_SCHEMES),
            "responses": responses,
            "schemas": dict(sorted(schemas.items())),
        },
    }


@cache
def document_text() -> str:
    """The document as served (built once per warm container)."""
    from ferry.api.app import build_api

    return json.dumps(openapi_document(build_api()), indent=2, ensure_ascii=False) + "\n"


@routes.get(DOCUMENT_PATH)
def openapi_json() -> Response[Any]:
    return Response(status_code=200, content_type="application/json", body=document_text())


if __name__ == "__main__":
    print(document_text(), end="")
