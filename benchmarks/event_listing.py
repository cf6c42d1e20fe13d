"""How long the dashboard's message list takes on `ferry dev` with many messages.

Publishes N delayed messages (one label) through `/v2/batch`, then times `GET /v2/events` as the
dashboard's Messages view asks for it: the first page unfiltered, filtered by the label, and
filtered by a label nothing has (which reads every page it is allowed to). Each request runs
`--repeat` times; the median is printed. Pollers off, so nothing else runs meanwhile.
`--moto-walk` puts back moto's own response serializer (ferry/dev/emulator_serializer.py), and
`--every-item` an index Query's pass over every item for each page (ferry/dev/emulator_query.py),
each for an A/B of that patch. The first request of each kind reads the table; the repeats find
the index partitions kept (nothing writes between them).

    .venv/bin/python -m benchmarks.event_listing [--messages 1000] [--repeat 3] [--moto-walk] [--every-item]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
import urllib.request
from typing import Any

QUERIES = {
    "first page, no filter": "/v2/events?count=50",
    "first page, label= (matches)": "/v2/events?count=50&label=listed",
    "label= matching nothing": "/v2/events?count=50&label=nothing-has-this",
}


def measure(
    messages: int, repeat: int, *, moto_walk: bool = False, every_item: bool = False
) -> dict[str, float]:
    from moto.core.serialize import BaseJSONSerializer

    import ferry.dev.emulator_query as emulator_query
    from ferry.dev.stack import DevStack

    with DevStack(port=0, poller_concurrency=0) as stack:
        direct = BaseJSONSerializer._serialize_type_structure
        kept = emulator_query.index_partition
        if moto_walk:
            BaseJSONSerializer._serialize_type_structure = BaseJSONSerializer._ferry_walk_structure
        if every_item:
            emulator_query.index_partition = lambda table, conditions, every_item: [
                item for item in every_item() if emulator_query._matches(item, conditions)
            ]
        try:
            return _timed_queries(stack, messages, repeat)
        finally:
            BaseJSONSerializer._serialize_type_structure = direct
            emulator_query.index_partition = kept


def _timed_queries(stack: Any, messages: int, repeat: int) -> dict[str, float]:
    def call(method: str, path: str, body: bytes | None = None) -> bytes:
        request = urllib.request.Request(
            stack.url + path,
            data=body,
            method=method,
            headers={
                "Authorization": f"Bearer {stack.secrets.api_token}",
                "Content-Type": "application/json",
            },
        )
        with urllib.request.urlopen(request, timeout=120) as response:
            return response.read()

    headers = {"Upstash-Delay": "1h", "Upstash-Label": "listed"}
    batch = [
        {"destination": "http://127.0.0.1:9/listed", "headers": headers, "body": str(i)}
        for i in range(messages)
    ]
    for start in range(0, messages, 100):
        call("POST", "/v2/batch", json.dumps(batch[start : start + 100]).encode())
    medians = {}
    for name, path in QUERIES.items():
        times = []
        for _ in range(repeat):
            started = time.perf_counter()
            call("GET", path)
            times.append((time.perf_counter() - started) * 1000)
        medians[name] = statistics.median(times)
    return medians


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--moto-walk", action="store_true", help="moto's own serializer (the A/B's before)")
    parser.add_argument(
        "--every-item", action="store_true", help="each index Query page reads every item (the A/B's before)"
    )
    args = parser.parse_args()
    figures = measure(args.messages, args.repeat, moto_walk=args.moto_walk, every_item=args.every_item)
    for name, ms in figures.items():
        print(f"{name:32s} {ms:8.0f} ms (median of {args.repeat}, {args.messages} messages)")


if __name__ == "__main__":
    main()
