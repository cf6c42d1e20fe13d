"""Small marks beside the messages: cancel requests and each schedule's latest firing.

cancel       pk=MSG#<id>     sk=CANCEL     checked before every attempt
last cancel  pk=CANCELS      sk=LATEST     the time of the latest cancel request of any message
last firing  pk=SCHED#<id>   sk=LAST       the schedule's latest message
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable

from ferry.adapters.dynamo_table import DynamoTable, Retention

# How long a dispatcher trusts the latest-cancel time it read (per execution environment).
LATEST_CANCEL_MAX_AGE_SECONDS = 0.5
# A message created more than this after the latest cancel request cannot be its subject, even
# with the clocks of two Lambda instances apart by this much (NTP keeps them within milliseconds).
CLOCK_SKEW_MARGIN_MS = 1_000


class DynamoCancels:
    """Cancel marks. Checking one before each attempt was the one read of a first-attempt
    delivery; the latest-cancel time (one item, read at most every half second per execution
    environment) answers for every message created after it without reading its mark."""

    def __init__(
        self,
        table: DynamoTable,
        retention: Retention,
        *,
        monotonic: Callable[[], float] = time.monotonic,
        max_age_seconds: float = LATEST_CANCEL_MAX_AGE_SECONDS,
    ) -> None:
        self._table = table
        self._retention = retention
        self._monotonic = monotonic
        self._max_age = max_age_seconds
        # (read at, latest cancel ms or None when there was none): replaced whole, never mutated.
        self._latest: tuple[float, int | None] | None = None
        self._lock = threading.Lock()

    def request(self, message_id: str, now_ms: int, not_before_ms: int = 0) -> bool:
        requested = self._table.put_if_absent(
            {
                "pk": f"MSG#{message_id}",
                "sk": "CANCEL",
                "time": now_ms,
                "ttl": self._retention.ttl(not_before_ms),
            }
        )
        if requested:
            self._raise_latest(now_ms)
            # This process's own checks see it at once (in `ferry dev` the API and the dispatcher
            # share one process); the time the cache was read stays, so it expires as before.
            cached = self._latest
            if cached is not None:
                self._latest = (cached[0], max(cached[1] or now_ms, now_ms))
        return requested

    def _raise_latest(self, now_ms: int) -> None:
        # Written after the mark: a dispatcher that sees this time also finds the mark. Only ever
        # raised (a slower writer of an earlier time fails its condition), never expires.
        with contextlib.suppress(self._table.conditional_check_failed):
            self._table.client.update_item(
                TableName=self._table.name,
                Key={"pk": {"S": "CANCELS"}, "sk": {"S": "LATEST"}},
                UpdateExpression="SET #time = :time",
                ConditionExpression="attribute_not_exists(#time) OR #time < :time",
                ExpressionAttributeNames={"#time": "time"},
                ExpressionAttributeValues={":time": {"N": str(now_ms)}},
            )

    def requested(self, message_id: str, created_ms: int | None = None) -> bool:
        # An eventually consistent read costs half a strongly consistent one. A cancel within
        # about a second of the attempt may then be missed, as one during the attempt always is.
        if created_ms is not None:
            latest = self._latest_cancel_ms()
            if latest is None or created_ms > latest + CLOCK_SKEW_MARGIN_MS:
                return False  # no cancel request since this message was created
        return self._table.get(f"MSG#{message_id}", "CANCEL", ProjectionExpression="pk") is not None

    def _latest_cancel_ms(self) -> int | None:
        now = self._monotonic()
        cached = self._latest
        if cached is not None and now - cached[0] < self._max_age:
            return cached[1]
        with self._lock:  # one read per expiry, however many deliveries are waiting for it
            # A read that began while this caller waited is fresh enough for it: the question was
            # asked at `now`. (Measured from the caller's arrival, under load the waiters of one
            # slow read would each find it stale and read again, one after another.)
            cached = self._latest
            if cached is not None and now - cached[0] < self._max_age:
                return cached[1]
            read_at = self._monotonic()
            values = self._table.get("CANCELS", "LATEST")
            latest = int(values["time"]) if values else None
            self._latest = (read_at, latest)
            return latest


class DynamoFirings:
    def __init__(self, table: DynamoTable, retention: Retention) -> None:
        self._table = table
        self._retention = retention

    def fired(self, schedule_id: str, message_id: str, time_ms: int) -> None:
        self._table.put(
            {
                "pk": f"SCHED#{schedule_id}",
                "sk": "LAST",
                "messageId": message_id,
                "time": time_ms,
                "ttl": self._retention.ttl(),
            }
        )

    def last(self, schedule_id: str) -> tuple[str, int] | None:
        values = self._table.get(f"SCHED#{schedule_id}", "LAST")
        return (values["messageId"], values["time"]) if values else None
