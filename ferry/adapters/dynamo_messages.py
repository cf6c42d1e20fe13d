"""DynamoMessages: the stored message (its envelope), written once at publish.

message      pk=MSG#<id>     sk=MSG        envelope JSON (large bodies left out), createdAt
"""

from __future__ import annotations

from typing import Any

from ferry.adapters.dynamo_table import DynamoTable, Retention
from ferry.domain.envelope import Envelope
from ferry.domain.history import storable


class DynamoMessages:
    def __init__(self, table: DynamoTable, retention: Retention) -> None:
        self._table = table
        self._retention = retention

    def item(self, envelope: Envelope) -> dict[str, Any]:
        stored = storable(envelope)
        return {
            "pk": f"MSG#{envelope.id}",
            "sk": "MSG",
            "envelope": stored.to_json(),
            "bodyStored": stored is envelope,
            "createdAt": envelope.created_at,
            "ttl": self._retention.ttl(envelope.not_before),
        }

    def get(self, message_id: str) -> Envelope | None:
        values = self._table.get(f"MSG#{message_id}", "MSG")
        return Envelope.from_json(values["envelope"]) if values else None
