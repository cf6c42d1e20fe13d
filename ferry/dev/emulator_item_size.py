"""The emulator sizes each DynamoDB item once, not once per attribute.

moto checks DynamoDB's 400 KB item limit while it builds an item: for every attribute it adds
it sums the size of every attribute already there (`LimitedSizeDict.__setitem__`), so building
an item of n attributes sizes n²/2 values. An item of 22 attributes (a history item's size)
made 255 `DynamoType.size()` calls, 12 % of a delivery's CPU in `ferry dev` (cProfile of the
dispatcher's per-record work, docs/benchmarks.md), and every PutItem of a publish paid the same.

Here an item is built first and sized once. Sizes are never negative, so the running sum passes
the limit exactly when the final sum does: the same items are refused, with the same error.
Attributes set later (UpdateItem) still go through moto's own check.
"""

from __future__ import annotations

from typing import Any

# moto's limit (moto/dynamodb/models/dynamo_type.py): between the 400 KB DynamoDB documents and
# the 409-410 KB moto's authors measured.
MOTO_ITEM_SIZE_LIMIT = 405_000


def size_items_once() -> None:
    """Idempotent; applied when the emulator starts (`ferry.dev.emulator.speed_up_moto`)."""
    from moto.dynamodb.exceptions import ItemSizeTooLarge
    from moto.dynamodb.models import dynamo_type
    from moto.dynamodb.models.utilities import bytesize

    item_class = dynamo_type.Item
    if getattr(item_class, "_ferry_sized_once", False):
        return
    dynamo_value, limited_dict = dynamo_type.DynamoType, dynamo_type.LimitedSizeDict

    def build_then_size(self: Any, hash_key: Any, range_key: Any, attrs: dict[str, Any]) -> None:
        self.hash_key = hash_key
        self.range_key = range_key
        built = limited_dict()
        for key, value in attrs.items():
            dict.__setitem__(built, key, dynamo_value(value))
        if sum(bytesize(key) + value.size() for key, value in built.items()) > MOTO_ITEM_SIZE_LIMIT:
            raise ItemSizeTooLarge
        self.attrs = built

    item_class.__init__ = build_then_size
    item_class._ferry_sized_once = True
