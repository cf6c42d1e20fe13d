"""Turning what went wrong into the API's JSON error bodies (`{"error": ..., "field": ...}`), for the
one error mapping in `ferry.api.app`: pydantic validation errors, parameters nobody declared, and
storage that is throttling or not answering (503 with `Retry-After`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware

from ferry.domain.errors import InvalidInput

# Where a value came from, as powertools names it in an error location.
_SOURCES = {"body", "query", "path", "header", "cookie"}
# Handler parameters holding a whole query model; their name is not part of the field's name.
QUERY_MODEL_PARAMETERS = {"filters"}

# Seconds a caller should wait before repeating a request refused because storage was busy.
RETRY_AFTER_SECONDS = 2
_THROTTLING_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottled",
        "RequestThrottledException",
        "TooManyRequestsException",
        "ProvisionedThroughputExceededException",
        "RequestLimitExceeded",
        "TransactionInProgressException",
        "SlowDown",
        "ServiceUnavailable",
        "InternalServerError",
        "InternalFailure",
        "RequestTimeout",
        "RequestTimeoutException",
        "LimitExceededException",
    }
)


def _field_of(loc: Sequence[Any]) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] in _SOURCES:
        parts = parts[1:]
    if parts and parts[0] in QUERY_MODEL_PARAMETERS:
        parts = parts[1:]
    # List positions read better as `messageIds[2]` than as `messageIds.2`.
    out = ""
    for part in parts:
        out += f"[{part}]" if part.isdigit() and out else (f".{part}" if out else part)
    return out or "body"


# pydantic's wording of a wrong type, in the JSON terms a caller sees.
_JSON_TYPES = {
    "list_type": "must be a JSON array",
    "dict_type": "must be a JSON object",
    "model_type": "must be a JSON object",
    "model_attributes_type": "must be a JSON object",
    "string_type": "must be a JSON string",
    "int_type": "must be a whole number",
    "int_parsing": "must be a whole number",
    "bool_type": "must be true or false",
}


def _message(error: dict[str, Any], field: str) -> str:
    kind = error.get("type", "")
    if kind in _JSON_TYPES:
        return f"{field} {_JSON_TYPES[kind]}"
    if kind == "extra_forbidden":
        return f"{field} is not a field this request accepts (check its spelling in docs/api.md)"
    if kind == "missing":
        return f"{field} is required"
    if kind == "json_invalid":
        detail = (error.get("ctx") or {}).get("error", "")
        return f"the request body is not valid JSON{': ' + detail if detail else ''}"
    if kind == "unsupported_content_type":
        return f"{error.get('msg', 'unsupported content type')}; send Content-Type: application/json"
    message = error.get("msg", "invalid value")
    if kind == "value_error":
        # Our own validators' words, without pydantic's "Value error, " in front.
        message = message.removeprefix("Value error, ")
    return f"{field}: {message}"


def validation_error_body(errors: Sequence[dict[str, Any]]) -> dict[str, str]:
    """The first error names its field; all of them are in the message."""
    described = []
    first_field = "body"
    for index, error in enumerate(errors):
        field = _field_of(error.get("loc", ()))
        if error.get("type") == "json_invalid":
            field = "body"
        if index == 0:
            first_field = field
        described.append(_message(error, field))
    return {"error": "; ".join(described) or "invalid request", "field": first_field}


def refuse_unknown_query_parameters(app: Any, next_middleware: NextMiddleware) -> Response:
    """powertools hands a route only the query parameters it declares and drops the rest; a
    misspelt filter would then silently widen a selection (a bulk cancel would hit everything).
    Routes whose query string belongs to the destination (publish) are marked and skipped."""
    route = app.context.get("_route")
    params = app.current_event.query_string_parameters or {}
    # No registered route matched: powertools' stand-in 404 route has no parameters; say 404.
    unmatched = route is not None and route not in (*app._static_routes, *app._dynamic_routes)
    if (
        route is not None
        and params
        and not unmatched
        and not getattr(route.func, "query_is_forwarded", False)
    ):
        known = _declared_query_names(route)
        for name in params:
            if name not in known and name != "qstash_token":
                listed = ", ".join(sorted(known)) or "none"
                raise InvalidInput(
                    f"{name} is not a query parameter of this route; it accepts: {listed}", field=name
                )
    return next_middleware(app)


def _declared_query_names(route: Any) -> set[str]:
    from pydantic import BaseModel

    names: set[str] = set()
    for param in route.dependant.query_params:
        annotation = param.field_info.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            names |= {f.alias or n for n, f in annotation.model_fields.items()}
        else:
            names.add(param.alias)
    return names


def forwards_query(func: Any) -> Any:
    """Mark a route whose query string is part of its destination (publish, enqueue, schedules)."""
    func.query_is_forwarded = True
    return func


def unavailable_body(exc: Exception) -> tuple[dict[str, str], int] | None:
    """A 503 body and Retry-After for storage throttling or timeouts; None for anything else."""
    from botocore.exceptions import ClientError, ConnectionError, ConnectTimeoutError, ReadTimeoutError

    if isinstance(exc, ClientError):
        code = exc.response.get("Error", {}).get("Code", "")
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        if code not in _THROTTLING_CODES and status not in (429, 503):
            return None
        reason = f"storage is throttling requests ({code or status})"
    elif isinstance(exc, ReadTimeoutError | ConnectTimeoutError):
        reason = "storage did not answer in time"
    elif isinstance(exc, ConnectionError):
        reason = "storage could not be reached"
    else:
        return None
    return (
        {"error": f"{reason}; retry the request after {RETRY_AFTER_SECONDS} s"},
        RETRY_AFTER_SECONDS,
    )
