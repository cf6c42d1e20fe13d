"""The one DynamoDB table as the history adapters use it: items in and out as plain Python values
(boto3's TypeSerializer/TypeDeserializer; numbers stay numbers), batch writes that retry
unprocessed items with a backoff, and retention as TTL."""

from __future__ import annotations

import base64
import json
import random
import time
from collections.abc import Callable, Iterator, Mapping
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

from ferry.adapters.dynamo_group_commit import BATCH_SIZE, GroupCommit
from ferry.usecases.ports import Clock

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()

# Unprocessed items (throttling) are written again after 50 ms, 100 ms, ... up to 1.6 s, with
# jitter: about 3 s in all, well inside the dispatcher's and the API's time budgets.
WRITE_ATTEMPTS = 7
BACKOFF_BASE_SECONDS = 0.05


def _to_dynamo(value: Any) -> Any:
    if isinstance(value, float):
        return Decimal(str(value))
    return value


def _from_dynamo(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, set):
        return {_from_dynamo(v) for v in value}
    return value


# Whole numbers below 10**38 are written as their digits (DynamoDB's 38 digits of precision);
# larger ones go through TypeSerializer, which refuses what DynamoDB cannot store exactly.
_EXACT_INTEGERS = 10**38


def _attribute(value: Any) -> dict[str, Any]:
    """One attribute value as TypeSerializer writes it. The types items mostly hold (strings,
    whole numbers, flags, string sets) are written without its generic type checks, which took
    about a fifth of a delivery's own CPU (31 attributes per message); the rest go through it."""
    kind = type(value)
    if kind is str:
        return {"S": value}
    if kind is int and -_EXACT_INTEGERS < value < _EXACT_INTEGERS:
        return {"N": str(value)}
    if kind is bool:
        return {"BOOL": value}
    if kind is set and value and all(type(member) is str for member in value):
        return {"SS": list(value)}
    return _serializer.serialize(_to_dynamo(value))


def _value(attribute: Mapping[str, Any]) -> Any:
    """The inverse of `_attribute`: strings, whole numbers and flags read directly; the rest (and
    numbers with a fraction or an exponent) through TypeDeserializer."""
    if "S" in attribute:
        return attribute["S"]
    number = attribute.get("N")
    if number is not None:
        digits = number[1:] if number[:1] == "-" else number
        if digits.isascii() and digits.isdigit() and len(digits) <= 38:
            return int(number)
    if "BOOL" in attribute:
        return attribute["BOOL"]
    return _from_dynamo(_deserializer.deserialize(attribute))


def to_item(values: Mapping[str, Any]) -> dict[str, Any]:
    """Attribute values for `values`; None (an absent attribute) is left out."""
    return {k: _attribute(v) for k, v in values.items() if v is not None}


def from_item(item: Mapping[str, Any]) -> dict[str, Any]:
    return {k: _value(v) for k, v in item.items()}


def response_attributes(status: int | None, headers: Mapping[str, str], body: bytes | None) -> dict[str, Any]:
    """An attempt's answer as stored with log events and DLQ entries (headers as JSON, body base64)."""
    return {
        "responseStatus": status,
        "responseHeader": json.dumps(dict(headers)) if headers else None,
        "responseBody": base64.b64encode(body).decode() if body else None,
    }


def response_of(values: Mapping[str, Any]) -> dict[str, Any]:
    """The inverse of `response_attributes`: keyword arguments of LogEvent / DeadLetterEntry."""
    return {
        "response_status": values.get("responseStatus"),
        "response_headers": json.loads(values["responseHeader"]) if "responseHeader" in values else {},
        "response_body": base64.b64decode(values["responseBody"]) if "responseBody" in values else None,
    }


def key(pk: str, sk: str) -> dict[str, Any]:
    return to_item({"pk": pk, "sk": sk})


class DynamoTable:
    def __init__(
        self,
        client: Any,
        table_name: str,
        *,
        sleep: Callable[[float], None] = time.sleep,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self.client = client
        self.name = table_name
        self._sleep = sleep
        self._jitter = jitter
        self._group = GroupCommit(self._write_batch)

    @property
    def conditional_check_failed(self) -> type[Exception]:
        return self.client.exceptions.ConditionalCheckFailedException

    def get(self, pk: str, sk: str, *, consistent: bool = False, **kwargs: Any) -> dict[str, Any] | None:
        item = self.client.get_item(
            TableName=self.name, Key=key(pk, sk), ConsistentRead=consistent, **kwargs
        ).get("Item")
        return from_item(item) if item else None

    def put(self, values: Mapping[str, Any], **kwargs: Any) -> None:
        self.client.put_item(TableName=self.name, Item=to_item(values), **kwargs)

    def put_if_absent(self, values: Mapping[str, Any], **kwargs: Any) -> bool:
        """Put unless an item with the same key exists (or `ConditionExpression` fails); True if written."""
        kwargs.setdefault("ConditionExpression", "attribute_not_exists(pk)")
        try:
            self.put(values, **kwargs)
            return True
        except self.conditional_check_failed:
            return False

    def take(self, pk: str, sk: str) -> dict[str, Any] | None:
        """Delete the item and return what it held; None when it was gone already."""
        old = self.client.delete_item(TableName=self.name, Key=key(pk, sk), ReturnValues="ALL_OLD")
        return from_item(old["Attributes"]) if old.get("Attributes") else None

    def pages(self, **kwargs: Any) -> Iterator[list[dict[str, Any]]]:
        """Query results page by page, decoded."""
        kwargs["TableName"] = self.name
        while True:
            response = self.client.query(**kwargs)
            yield [from_item(item) for item in response.get("Items", [])]
            if "LastEvaluatedKey" not in response:
                return
            kwargs["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def query_all(self, **kwargs: Any) -> list[dict[str, Any]]:
        return [item for page in self.pages(**kwargs) for item in page]

    def write(self, items: list[Mapping[str, Any]]) -> None:
        """Put every item; returns once they are written. Writes made at the same time by other
        threads share BatchWriteItem requests (`GroupCommit`, 25 items each)."""
        self._group.write([{"PutRequest": {"Item": to_item(i)}} for i in items])

    def _write_batch(self, requests: list[dict[str, Any]]) -> None:
        """One BatchWriteItem of at most BATCH_SIZE puts; unprocessed items are retried with an
        exponential backoff, and still unprocessed ones raise."""
        assert len(requests) <= BATCH_SIZE
        pending: dict[str, Any] = {self.name: requests}
        for attempt in range(WRITE_ATTEMPTS):
            if attempt:
                self._sleep(BACKOFF_BASE_SECONDS * 2 ** (attempt - 1) * (0.5 + self._jitter()))
            pending = self.client.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}
            if not pending:
                return
        raise RuntimeError("DynamoDB kept items unprocessed; history write incomplete")


class Retention:
    """TTL (epoch seconds) of history items: kept `days` after now, or after a later due time."""

    def __init__(self, clock: Clock, days: int) -> None:
        self._clock = clock
        self._seconds = days * 86_400

    def ttl(self, not_before_ms: int = 0) -> int:
        # Kept for the retention period after the message is due, so a message delayed for months
        # stays readable and cancellable until then.
        return int(max(self._clock.now(), not_before_ms / 1000) + self._seconds)

    def ttl_from(self, time_ms: int) -> int:
        """Kept `days` after `time_ms` (the item's own time), however late it is written."""
        return int(time_ms / 1000 + self._seconds)
