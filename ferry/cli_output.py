"""How the `ferry` API commands print: the API's JSON with --json, else aligned records and
tables for people (times as UTC ISO instants, booleans as yes/no)."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from collections.abc import Callable, Iterable, Mapping
from typing import Any


def json_wanted(args: argparse.Namespace) -> bool:
    return bool(getattr(args, "json", False))


def print_json(data: Any) -> None:
    print(json.dumps(data, indent=2))


def show(args: argparse.Namespace, data: Any, human: Callable[[Any], None]) -> int:
    """The answer as JSON with --json, else in `human` form."""
    if json_wanted(args):
        print_json(data)
    else:
        human(data)
    return 0


_TIME_KEYS = {"time", "createdAt", "notBefore", "nextDeliveryTime", "nextScheduleTime", "lastScheduleTime"}
# Second spellings the API sends for SDK compatibility; printed once.
_DUPLICATE_KEYS = {"callerIp", "responseHeaders", "logs", "label"}
# Printed first, in this order; the rest keep the API's order.
_FIRST_KEYS = ["scheduleId", "dlqId", "messageId", "state", "isPaused", "cron", "destination", "url"]


def when(value: Any) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        moment = dt.datetime.fromtimestamp(value / 1000, tz=dt.UTC)
        return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    return str(value)


def _value(key: str, value: Any) -> str:
    if key in _TIME_KEYS:
        return when(value)
    if key == "nextScheduleTimes" and isinstance(value, list):
        return ", ".join(when(v) for v in value)
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dict):
        return json.dumps(value)
    return str(value)


def print_record(record: Mapping[str, Any]) -> None:
    """One object as aligned `name: value` lines; header maps one header per line."""
    keys = [k for k in record if k not in _DUPLICATE_KEYS and record[k] is not None]
    keys.sort(key=lambda k: _FIRST_KEYS.index(k) if k in _FIRST_KEYS else len(_FIRST_KEYS))
    width = max((len(k) for k in keys), default=0) + 1
    for key in keys:
        value = record[key]
        if isinstance(value, dict) and all(isinstance(v, list) for v in value.values()):
            print(f"{key}:" + ("" if value else " (none)"))
            for name, values in value.items():
                for item in values:
                    print(f"  {name}: {item}")
        else:
            print(f"{key + ':':<{width}} {_value(key, value)}")


def table(rows: Iterable[Iterable[Any]]) -> None:
    """Rows as columns separated by two spaces; the last column is not padded."""
    rows = [[str(c) for c in row] for row in rows]
    if not rows:
        return
    widths = [max(len(row[i]) for row in rows if i < len(row)) for i in range(max(map(len, rows)))]
    for row in rows:
        cells = [cell.ljust(widths[i]) for i, cell in enumerate(row[:-1])] + row[-1:]
        print("  ".join(cells).rstrip())


def plural(count: int, noun: str) -> str:
    if count == 1:
        return f"{count} {noun}"
    return f"{count} {noun[:-1]}ies" if noun.endswith("y") else f"{count} {noun}s"


def more(cursor: str | None, args: argparse.Namespace) -> None:
    """On stderr, how to get the next page (never with --json: the cursor is in the JSON)."""
    if cursor and not json_wanted(args):
        print(f"ferry: more on the next page: add --cursor {cursor} (or --all-pages)", file=sys.stderr)
