"""The emulator writes DynamoDB attribute values into its responses as they are stored.

moto 5 serializes every response by walking the operation's output shape member by member,
looking each member up through a value picker. An item's attribute values are stored already
in their wire form (`{"S": "..."}`, `{"M": {...}}`), yet each one is walked as a structure of
ten members: a page of 51 log events was about 800 such walks, 0.6 s of moto's time, so the
dashboard's message list took 2.7 s with 1,000 messages in `ferry dev` and a delayed message
published in a browser test did not show up within the test's 10 s (docs/benchmarks.md).

Here an `AttributeValue` whose parts are the plain types moto stores is written directly: the
same members in the same order, blobs base64-encoded by moto's own encoder, nested maps and
lists likewise. Anything else (an unexpected member or type) goes through moto's walk, as
before, so every answer is the one moto gave.
"""

from __future__ import annotations

from typing import Any

_ATTRIBUTE_VALUE = "AttributeValue"
_SCALARS = {"S": str, "N": str, "BOOL": bool, "NULL": bool}
_TEXT_SETS = ("SS", "NS")


class _NotPlain(Exception):
    """A value this fast path does not write: moto's walk writes it."""


def _written(serializer: Any, value: Any) -> dict[str, Any]:
    if type(value) is not dict or len(value) != 1:
        raise _NotPlain
    ((name, part),) = value.items()
    if part is None:
        raise _NotPlain
    if name in _SCALARS:
        if type(part) is not _SCALARS[name]:
            raise _NotPlain
        return {name: part}
    if name in _TEXT_SETS:
        if type(part) is not list or any(type(s) is not str for s in part):
            raise _NotPlain
        return {name: list(part)}
    if name == "M":
        if type(part) is not dict:
            raise _NotPlain
        return {"M": {key: _written(serializer, inner) for key, inner in part.items()}}
    if name == "L":
        if type(part) is not list:
            raise _NotPlain
        return {"L": [_written(serializer, inner) for inner in part]}
    if name == "B":
        return {"B": serializer._base64(part)}
    if name == "BS":
        if type(part) is not list:
            raise _NotPlain
        return {"BS": [serializer._base64(blob) for blob in part]}
    raise _NotPlain


def write_attribute_values_directly() -> None:
    """Idempotent; applied when the emulator starts (`ferry.dev.emulator.speed_up_moto`)."""
    from moto.core.serialize import BaseJSONSerializer

    if getattr(BaseJSONSerializer, "_ferry_direct_attribute_values", False):
        return
    walk = BaseJSONSerializer._serialize_type_structure

    def structure(self: Any, serialized: Any, value: Any, shape: Any, key: str) -> None:
        if key and shape.name == _ATTRIBUTE_VALUE:
            try:
                written = _written(self, value)
            except _NotPlain:
                pass
            else:
                self._default_serialize(serialized, written, shape, key)
                return
        walk(self, serialized, value, shape, key)

    BaseJSONSerializer._ferry_walk_structure = walk
    BaseJSONSerializer._serialize_type_structure = structure
    BaseJSONSerializer._ferry_direct_attribute_values = True
