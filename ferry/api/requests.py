"""The request models of the HTTP API: every JSON body and query string, parsed by pydantic at the
boundary (powertools' `enable_validation`), unknown keys refused, types strict, before a use case
sees it. The generated OpenAPI document is built from these models.

Bulk selections follow the official SDKs exactly (qstash-py 3.4.0, @upstash/qstash 2.12):
- by ids: a JSON body `{"messageIds": [...]}` / `{"dlqIds": [...]}` (Python) or repeated
  `?messageIds=` / `?dlqIds=` query parameters (JS);
- "all", or all matching filters: no body at all, only filter, `count` and `cursor` parameters
  (Python `cancel_all()` sends nothing; JS `{all: true}` sends `?count=100`).
An empty list, an empty id, a wrong type or an unknown key is a 400 naming the field, never "all".
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
)

from ferry.domain.errors import InvalidInput
from ferry.domain.history import State
from ferry.domain.http_headers import whole_number
from ferry.domain.queries import Query

# A unix time in milliseconds up to the year 9999: a 40-digit "date" is a typo, not a filter.
MAX_MILLIS = 253_402_300_799_999
Id = Annotated[str, StringConstraints(min_length=1, max_length=256)]
# A number in a query string, read as QStash's Go parser reads one: pydantic's lax int also takes
# "1_0" (as 10) and " 3". For query models only (before a strict JSON model's check it would turn
# the string "5" into a number), and after the field's bounds in `Annotated` (so the OpenAPI
# document still shows them as minimum and maximum).
DECIMAL_TEXT = BeforeValidator(lambda v: whole_number(v) if isinstance(v, str) else v)
Millis = Annotated[int, Field(ge=0, le=MAX_MILLIS), DECIMAL_TEXT]
# `IN_PROGRESS` means "being worked on"; `CANCELLED` is the docs' spelling of CANCELED.
StateName = Annotated[
    Literal[(*(s.value for s in State), "IN_PROGRESS", "CANCELLED")],
    BeforeValidator(lambda v: v.upper() if isinstance(v, str) and v.isascii() else v),
]
STATE_ALIASES = {"IN_PROGRESS": ("ACTIVE", "RETRY", "ERROR"), "CANCELLED": ("CANCELED",)}


class JsonBody(BaseModel):
    """A JSON body: exactly these keys, no coercion ("5" is not a number, "a" is not a list)."""

    model_config = ConfigDict(extra="forbid", strict=True)


class QueryString(BaseModel):
    """Query parameters (strings on the wire, so numbers are parsed from text); unknown ones are
    refused by `ferry.api.app` (powertools passes a model only the parameters it declares)."""

    model_config = ConfigDict(extra="forbid")


# --- filters ---------------------------------------------------------------------------------------

# Filter parameter -> attribute of a stored log event / DLQ entry (see ferry.domain.queries).
FILTER_ATTRIBUTES = {
    "messageId": "messageId",
    "messageIds": "messageId",
    "dlqIds": "dlqId",
    "state": "state",
    "url": "url",
    "topicName": "topicName",
    "queueName": "queueName",
    "scheduleId": "scheduleId",
    "label": "labels",
    "responseStatus": "responseStatus",
    "callerIp": "callerIp",
    "flowControlKey": "flowControlKey",
}


class Filters(QueryString):
    """Filters shared by logs, the DLQ and bulk cancel: OR within one parameter (repeated or
    comma-separated values), AND across parameters."""

    messageId: list[Id] | None = None
    url: list[Id] | None = None
    topicName: list[Id] | None = None
    queueName: list[Id] | None = None
    scheduleId: list[Id] | None = None
    label: list[Id] | None = None
    callerIp: list[Id] | None = None
    flowControlKey: list[Id] | None = None
    fromDate: Millis | None = Field(None, description="unix time in ms, inclusive")
    toDate: Millis | None = Field(None, description="unix time in ms, inclusive")
    cursor: Millis | None = Field(None, description="the `cursor` of the previous page")
    # Ferry answers newest first; QStash's other order is not offered, so asking for it is an error.
    order: Literal["latestFirst"] | None = None
    count: Annotated[int, Field(ge=1), DECIMAL_TEXT] | None = None

    # A field validator (toDate is declared after fromDate), so the error names a parameter the
    # caller sent rather than the whole query.
    @field_validator("toDate")
    @classmethod
    def _not_before_from_date(cls, to_date: int | None, info: ValidationInfo) -> int | None:
        from_date = info.data.get("fromDate")
        if to_date is not None and from_date is not None and from_date > to_date:
            raise ValueError(f"{to_date} is before fromDate {from_date}; nothing could match")
        return to_date

    def to_query(self, *, max_count: int) -> Query:
        """The domain query; `count` above `max_count` is refused."""
        if self.count is not None and self.count > max_count:
            raise InvalidInput(f"count: use 1 to {max_count}", field="count")
        filters: dict[str, tuple[str, ...]] = {}
        for name, attribute in FILTER_ATTRIBUTES.items():
            values = getattr(self, name, None)
            if not values:
                continue
            words = [str(v) for v in values]
            if name == "state":
                words = [alias for v in words for alias in STATE_ALIASES.get(v, (v,))]
            filters[attribute] = tuple(sorted(set(filters.get(attribute, ())) | set(words)))
        return Query(
            filters=filters,
            from_ms=self.fromDate,
            to_ms=self.toDate,
            count=self.count or 100,
            cursor=self.cursor,
        )


HttpStatus = Annotated[int, Field(ge=100, le=599), DECIMAL_TEXT]


class DlqFilters(Filters):
    dlqIds: list[Id] | None = None
    responseStatus: list[HttpStatus] | None = None


class LogFilters(DlqFilters):
    messageIds: list[Id] | None = None
    state: list[StateName] | None = None


class MessageFilters(Filters):
    messageIds: list[Id] | None = None
    state: list[StateName] | None = None


# --- bodies ----------------------------------------------------------------------------------------


class MessageIds(JsonBody):
    messageIds: list[Id] = Field(min_length=1, max_length=10_000)


class DlqIds(JsonBody):
    dlqIds: list[Id] = Field(min_length=1, max_length=10_000)


class BatchItem(JsonBody):
    destination: Annotated[str, StringConstraints(min_length=1)]
    headers: dict[str, str] = Field(default_factory=dict)
    # The JS workflow SDK sends a `context.call` body as a JSON object, not a string (QStash takes
    # it as the JSON text); a string is the body byte for byte.
    body: str | dict[str, Any] | list[Any] | None = None
    queue: str | None = None

    def body_bytes(self) -> bytes:
        if self.body is None:
            return b""
        if isinstance(self.body, str):
            return self.body.encode()
        return json.dumps(self.body, separators=(",", ":")).encode()


class Endpoint(JsonBody):
    url: str | None = None
    name: str | None = None


class Endpoints(JsonBody):
    endpoints: list[Endpoint] = Field(min_length=1)

    def to_body(self) -> dict[str, Any]:
        """The shape the URL-group use case reads."""
        return {"endpoints": [e.model_dump(exclude_none=True) for e in self.endpoints]}
