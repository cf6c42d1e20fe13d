"""DynamoMessages: the stored message (its envelope), written once at publish.

message      pk=MSG#<id>     sk=MSG        envelope JSON or its zlib bytes (large bodies left out), createdAt

Why the envelope may be stored compressed: DynamoDB bills a write per started kilobyte of the
item, and a 1 KB JSON body makes the message item 1.4-1.7 KB (the envelope escapes the body and
carries headers and options): two write units at publish, three for the whole delivery at the
`errors` level instead of two. An envelope of `COMPRESS_FROM_BYTES` or more is kept as zlib
bytes (a binary attribute) when that is smaller: a 1 KB JSON order event's envelope, 1,386
bytes, is 449. An incompressible body stays JSON, so no item grows.
"""

from __future__ import annotations

import zlib
from typing import Any

from ferry.adapters.dynamo_table import DynamoTable, Retention
from ferry.domain.envelope import Envelope
from ferry.domain.history import storable

COMPRESS_FROM_BYTES = 512
_LEVEL = 6  # zlib's default: about 20 us for a 1.4 KB envelope here; 9 saves a few bytes more


def stored_envelope(text: str) -> str | bytes:
    """What the item keeps: the envelope's JSON, or its zlib bytes when those are smaller."""
    raw = text.encode()
    if len(raw) < COMPRESS_FROM_BYTES:
        return text
    packed = zlib.compress(raw, _LEVEL)
    return packed if len(packed) < len(raw) else text


def envelope_text(stored: Any) -> str:
    """The inverse of `stored_envelope` (boto3 reads a binary attribute as `Binary`)."""
    if isinstance(stored, str):
        return stored
    return zlib.decompress(bytes(getattr(stored, "value", stored))).decode()


class DynamoMessages:
    def __init__(self, table: DynamoTable, retention: Retention) -> None:
        self._table = table
        self._retention = retention

    def item(self, envelope: Envelope) -> dict[str, Any]:
        stored = storable(envelope)
        return {
            "pk": f"MSG#{envelope.id}",
            "sk": "MSG",
            "envelope": stored_envelope(stored.to_json()),
            "bodyStored": stored is envelope,
            "createdAt": envelope.created_at,
            "ttl": self._retention.ttl(envelope.not_before),
        }

    def get(self, message_id: str) -> Envelope | None:
        values = self._table.get(f"MSG#{message_id}", "MSG")
        return Envelope.from_json(envelope_text(values["envelope"])) if values else None
