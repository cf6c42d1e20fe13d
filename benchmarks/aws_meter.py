"""Counts what AWS would bill: requests per operation, and DynamoDB write and read units.

Every botocore client created while the meter is installed gets two event hooks:
`before-parameter-build` sees the API parameters (the items written, the keys read) and
`after-call` sees the parsed response (the items returned). Capacity units follow DynamoDB's
on-demand rules:

- a write costs ceil(item size / 1 KB) write units, and as much again in every global secondary
  index the item is in (Ferry's gsi1 projects ALL attributes; an item is in it when it carries
  both `gsi1pk` and `gsi1sk`); a failed conditional write costs the same as a successful one;
- a read costs ceil(size / 4 KB) read units when strongly consistent, half when eventually
  consistent (a GSI query always is); a Query sums the sizes of the items it returns first;
  a GetItem that finds nothing still costs one unit (half when eventual).

Item sizes are computed as DynamoDB does (attribute names plus values; numbers about one byte
per two digits). An UpdateItem or a projected GetItem is sized from the whole stored item, read
by a client of the meter's own that is not counted.
"""

from __future__ import annotations

import base64
import math
import threading
import time
from collections import Counter
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import botocore.session

KB = 1024
GSI_KEYS = ("gsi1pk", "gsi1sk")

_outside = threading.local()


def cpu_outside_lambda() -> float:
    """CPU seconds this thread has spent so far where a Lambda in AWS spends none: in the
    emulator's side of each AWS call (moto parsing, storing, answering; in AWS that is the
    service's work) and in the meter's own hooks. Subtracted from a handler's CPU time."""
    return getattr(_outside, "seconds", 0.0)


def calls_in_thread() -> int:
    """AWS calls this thread has made so far through metered clients."""
    return getattr(_outside, "calls", 0)


@contextmanager
def _outside_lambda() -> Iterator[None]:
    depth = getattr(_outside, "depth", 0)
    _outside.depth = depth + 1
    started = time.thread_time()
    try:
        yield
    finally:
        _outside.depth = depth
        if not depth:  # nested (the meter's reads go through the emulator): counted once
            _outside.seconds = cpu_outside_lambda() + time.thread_time() - started


def attribute_size(value: Mapping[str, Any]) -> int:
    """Bytes of one attribute value in DynamoDB's low-level form ({"S": ...}, {"N": ...}, ...)."""
    ((kind, raw),) = value.items()
    if kind == "S":
        return len(raw.encode())
    if kind == "N":
        digits = raw.lstrip("-").replace(".", "").lstrip("0") or "0"
        return math.ceil(len(digits) / 2) + 1
    if kind == "B":
        return len(raw) if isinstance(raw, bytes) else len(base64.b64decode(raw))
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(len(v.encode()) for v in raw)
    if kind == "NS":
        return sum(attribute_size({"N": v}) for v in raw)
    if kind == "BS":
        return sum(attribute_size({"B": v}) for v in raw)
    if kind == "L":
        return 3 + sum(1 + attribute_size(v) for v in raw)
    if kind == "M":
        return 3 + sum(1 + len(k.encode()) + attribute_size(v) for k, v in raw.items())
    raise ValueError(f"unknown attribute type {kind}")


def item_size(item: Mapping[str, Mapping[str, Any]]) -> int:
    return sum(len(name.encode()) + attribute_size(value) for name, value in item.items())


def write_units(item: Mapping[str, Mapping[str, Any]]) -> tuple[int, int]:
    """(table, index) write units of putting `item`."""
    units = max(1, math.ceil(item_size(item) / KB))
    return units, units if all(k in item for k in GSI_KEYS) else 0


def read_units(total_bytes: int, *, consistent: bool) -> float:
    units = max(1, math.ceil(total_bytes / (4 * KB)))
    return units if consistent else units / 2


@dataclass
class Tally:
    requests: Counter[str] = field(default_factory=Counter)
    table_wru: float = 0
    index_wru: float = 0
    strong_rru: float = 0
    eventual_rru: float = 0
    strong_reads: int = 0

    @property
    def wru(self) -> float:
        return self.table_wru + self.index_wru

    @property
    def rru(self) -> float:
        return self.strong_rru + self.eventual_rru


class AwsMeter:
    """Install with `with meter.installed():`; read `meter.tally`; `meter.reset()` between runs."""

    def __init__(self, *, ignore_services: tuple[str, ...] = ()) -> None:
        self.tally = Tally()
        self._ignore = set(ignore_services)
        self._lock = threading.Lock()
        self._pending: dict[int, dict[str, Any]] = {}
        self._raw_client: Any = None
        self._uncounted = threading.local()

    def reset(self) -> Tally:
        with self._lock:
            done, self.tally = self.tally, Tally()
        return done

    @contextmanager
    def installed(self) -> Iterator[AwsMeter]:
        original = botocore.session.Session.create_client
        meter = self

        def create_client(session: Any, service_name: str, *args: Any, **kwargs: Any) -> Any:
            client = original(session, service_name, *args, **kwargs)
            if not getattr(meter._uncounted, "on", False):
                client.meta.events.register("before-parameter-build", meter._before)
                client.meta.events.register("after-call", meter._after)
            return client

        from moto.core.botocore_stubber import BotocoreStubber

        emulate = BotocoreStubber.__call__

        def emulated(stubber: Any, *args: Any, **kwargs: Any) -> Any:
            with _outside_lambda():
                return emulate(stubber, *args, **kwargs)

        botocore.session.Session.create_client = create_client  # type: ignore[method-assign]
        BotocoreStubber.__call__ = emulated  # type: ignore[method-assign]
        try:
            yield self
        finally:
            botocore.session.Session.create_client = original  # type: ignore[method-assign]
            BotocoreStubber.__call__ = emulate  # type: ignore[method-assign]

    @contextmanager
    def uncounted(self) -> Iterator[None]:
        """Clients created inside are not metered (the benchmark's own checks)."""
        self._uncounted.on = True
        try:
            yield
        finally:
            self._uncounted.on = False

    def _stored_item(self, table: str, key: Mapping[str, Any]) -> dict[str, Any]:
        if self._raw_client is None:
            with self.uncounted():
                # (Endpoint, region and credentials from the environment, as the handlers' clients.)
                self._raw_client = botocore.session.get_session().create_client("dynamodb")
        return self._raw_client.get_item(TableName=table, Key=key, ConsistentRead=True).get("Item") or {}

    # --- hooks ------------------------------------------------------------------------------

    def _before(self, params: dict[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
        with _outside_lambda():
            context["ferry_meter_params"] = dict(params)

    def _after(self, http_response: Any, parsed: dict[str, Any], model: Any, **kwargs: Any) -> None:
        with _outside_lambda():
            _outside.calls = calls_in_thread() + 1
            self._count(parsed, model, **kwargs)

    def _count(self, parsed: dict[str, Any], model: Any, **kwargs: Any) -> None:
        service = model.service_model.service_name
        if service in self._ignore:
            return
        params = kwargs.get("context", {}).get("ferry_meter_params", {})
        with self._lock:
            self.tally.requests[f"{service}:{model.name}"] += 1
        if service == "dynamodb":
            self._dynamodb(model.name, params, parsed)

    def _dynamodb(self, operation: str, params: dict[str, Any], parsed: dict[str, Any]) -> None:
        table_wru = index_wru = 0.0
        strong = eventual = 0.0
        strong_reads = 0
        if operation == "PutItem":
            table_wru, index_wru = write_units(params["Item"])
        elif operation == "BatchWriteItem":
            unprocessed = parsed.get("UnprocessedItems") or {}
            for table, requests in params["RequestItems"].items():
                left = len(unprocessed.get(table, []))
                for request in requests[: len(requests) - left]:
                    if "PutRequest" in request:
                        t, i = write_units(request["PutRequest"]["Item"])
                    else:
                        t, i = 1, 0
                    table_wru, index_wru = table_wru + t, index_wru + i
        elif operation in ("DeleteItem", "UpdateItem"):
            item = parsed.get("Attributes") or {}
            if operation == "UpdateItem" or not item:
                item = self._stored_item(params["TableName"], params["Key"]) or item
            table_wru, index_wru = write_units(item) if item else (1, 0)
        elif operation == "GetItem":
            item = parsed.get("Item") or {}
            if item and "ProjectionExpression" in params:
                item = self._stored_item(params["TableName"], params["Key"]) or item
            consistent = bool(params.get("ConsistentRead"))
            units = read_units(item_size(item), consistent=consistent)
            strong, eventual, strong_reads = (units, 0, 1) if consistent else (0, units, 0)
        elif operation == "Query":
            consistent = bool(params.get("ConsistentRead")) and "IndexName" not in params
            units = read_units(sum(item_size(i) for i in parsed.get("Items", [])), consistent=consistent)
            strong, eventual, strong_reads = (units, 0, 1) if consistent else (0, units, 0)
        elif operation == "BatchGetItem":
            for requests in params["RequestItems"].values():
                consistent = bool(requests.get("ConsistentRead"))
                for _ in requests["Keys"]:
                    units = read_units(KB, consistent=consistent)
                    strong, eventual = (
                        (strong + units, eventual) if consistent else (strong, eventual + units)
                    )
        with self._lock:
            self.tally.table_wru += table_wru
            self.tally.index_wru += index_wru
            self.tally.strong_rru += strong
            self.tally.eventual_rru += eventual
            self.tally.strong_reads += strong_reads
