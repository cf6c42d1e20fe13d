"""Message bodies of a given size for tests and benchmarks: what a store or a price depends on
is how the body compresses, so each kind says which case it is."""

from __future__ import annotations

import base64
import json
import os
import uuid


def order_event_json(size: int) -> str:
    """A JSON webhook payload of exactly `size` bytes (ids, amounts, repeated keys): the usual
    case, compressing to about a third."""
    items = [{"sku": uuid.uuid4().hex[:8], "qty": i, "price": 1999 + i} for i in range(size // 30 + 1)]
    text = json.dumps({"event": "order.paid", "orderId": uuid.uuid4().hex, "items": items})
    return text[: size - 2] + "]}"


def random_text(size: int) -> str:
    """`size` characters of base64 over random bytes: the worst case, compressing to about 3/4."""
    return base64.b64encode(os.urandom(size)).decode()[:size]


def repeated_text(size: int) -> str:
    """One character `size` times: the best case, compressing to almost nothing."""
    return "x" * size
