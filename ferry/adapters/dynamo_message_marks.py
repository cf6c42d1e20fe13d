"""Small marks beside the messages: cancel requests and each schedule's latest firing.

cancel       pk=MSG#<id>     sk=CANCEL     checked before every attempt
last firing  pk=SCHED#<id>   sk=LAST       the schedule's latest message
"""

from __future__ import annotations

from ferry.adapters.dynamo_table import DynamoTable, Retention


class DynamoCancels:
    def __init__(self, table: DynamoTable, retention: Retention) -> None:
        self._table = table
        self._retention = retention

    def request(self, message_id: str, now_ms: int, not_before_ms: int = 0) -> bool:
        return self._table.put_if_absent(
            {
                "pk": f"MSG#{message_id}",
                "sk": "CANCEL",
                "time": now_ms,
                "ttl": self._retention.ttl(not_before_ms),
            }
        )

    def requested(self, message_id: str) -> bool:
        # Checked before every attempt, so it is the one read of a first-attempt delivery: an
        # eventually consistent read costs half a strongly consistent one. A cancel within about
        # a second of the attempt may then be missed, as one during the attempt always is.
        return self._table.get(f"MSG#{message_id}", "CANCEL", ProjectionExpression="pk") is not None


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
