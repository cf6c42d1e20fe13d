"""`ferry queues ...` and `ferry flow-control ...`: the queue and flow-control management API.

Registered by `ferry.cli.build_parser`; output, --json and errors are the ones every API command
uses (`ferry.cli_output`, `ferry.cli_api`).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from ferry.cli_api import Handler, api_parser
from ferry.cli_output import print_record, show, table
from ferry.client import FerryClient


def _name(value: str) -> str:
    return quote(value, safe="")


def _done(verb: str, attribute: str) -> Handler:
    """A command whose answer is empty: say what happened to what."""

    def run(client: FerryClient, args: argparse.Namespace) -> int:
        name = getattr(args, attribute)
        return show(args, {}, lambda _: print(f"{verb} {name}"))

    return run


def _queue_action(action: str, method: str = "POST") -> Handler:
    def run(client: FerryClient, args: argparse.Namespace) -> int:
        suffix = "" if action == "delete" else f"/{action}"
        client.request(method, f"/v2/queues/{_name(args.queue)}{suffix}")
        return _done({"pause": "paused", "resume": "resumed", "delete": "deleted"}[action], "queue")(
            client, args
        )

    return run


def _queues_upsert(client: FerryClient, args: argparse.Namespace) -> int:
    body = {"queueName": args.queue, "parallelism": args.parallelism, "paused": args.paused}
    client.request("POST", "/v2/queues", json_body=body)
    return _done("saved", "queue")(client, args)


def _listing(
    path: str,
    row: Callable[[dict[str, Any]], list[Any]],
    query: Callable[[argparse.Namespace], dict[str, Any]] | None = None,
) -> Handler:
    """A list command: the API's array as a table (one `row` per item), or as it is with --json."""

    def run(client: FerryClient, args: argparse.Namespace) -> int:
        items = client.request("GET", path, query=query(args) if query else None) or []
        return show(args, items, lambda rows: table(row(item) for item in rows))

    return run


_queues_list = _listing(
    "/v2/queues",
    lambda q: [
        q["name"],
        "paused" if q.get("paused") else "active",
        f"parallelism {q.get('parallelism')}",
        f"lag {q.get('lag', 0)}",
        f"in flight {q.get('inFlight', 0)}",
    ],
)


def _queues_get(client: FerryClient, args: argparse.Namespace) -> int:
    return show(args, client.request("GET", f"/v2/queues/{_name(args.queue)}"), print_record)


_keys_list = _listing(
    "/v2/flowControl",
    lambda k: [
        k["flowControlKey"],
        "paused" if k.get("isPaused") else "active",
        f"parallelism {k.get('parallelismCount', 0)}/{k.get('parallelismMax') or '-'}",
        f"rate {k.get('rateCount', 0)}/{k.get('rateMax') or '-'} per {k.get('ratePeriod', 1)}s",
        f"waiting {k.get('waitListSize', 0)}",
    ],
    query=lambda args: {"search": args.search},
)


def _keys_get(client: FerryClient, args: argparse.Namespace) -> int:
    return show(args, client.request("GET", f"/v2/flowControl/{_name(args.key)}"), print_record)


def _key_action(action: str, verb: str) -> Handler:
    def run(client: FerryClient, args: argparse.Namespace) -> int:
        query: dict[str, Any] = {}
        if action == "pin":
            query = {"parallelism": args.parallelism, "rate": args.rate, "period": args.period}
        elif action == "unpin":
            query = {name: "true" for name in ("parallelism", "rate") if getattr(args, name)}
        client.request("POST", f"/v2/flowControl/{_name(args.key)}/{action}", query=query)
        return _done(verb, "key")(client, args)

    return run


def _global(client: FerryClient, args: argparse.Namespace) -> int:
    info = client.request("GET", "/v2/globalParallelism")
    return show(args, info, lambda i: print(f"{i['parallelismCount']} in flight of {i['parallelismMax']}"))


def add_commands(commands: Any) -> None:

    queues = commands.add_parser("queues", help="queues: parallelism and pause").add_subparsers(
        dest="queues_command", required=True, metavar="{list,get,upsert,pause,resume,delete}"
    )
    api_parser(queues, "list", _queues_list, help="list queues with their lag")
    api_parser(queues, "get", _queues_get, help="show a queue").add_argument("queue", metavar="NAME")
    upsert = api_parser(queues, "upsert", _queues_upsert, help="create a queue or change its settings")
    upsert.add_argument("queue", metavar="NAME")
    upsert.add_argument(
        "--parallelism", type=int, default=1, metavar="N", help="deliveries in flight at most"
    )
    upsert.add_argument("--paused", action="store_true", help="hold every message until resumed")
    for action, text in (
        ("pause", "hold the queue's messages"),
        ("resume", "deliver again"),
        ("delete", "delete"),
    ):
        api_parser(
            queues, action, _queue_action(action, "DELETE" if action == "delete" else "POST"), help=text
        )
        queues.choices[action].add_argument("queue", metavar="NAME")

    keys = commands.add_parser("flow-control", help="flow-control keys: parallelism, rate").add_subparsers(
        dest="flow_command", required=True, metavar="{list,get,pause,resume,pin,unpin,reset-rate,global}"
    )
    api_parser(keys, "list", _keys_list, help="list keys").add_argument("--search", metavar="TEXT")
    api_parser(keys, "get", _keys_get, help="show a key's limits and counters").add_argument(
        "key", metavar="KEY"
    )
    for action, name, verb, text in (
        ("pause", "pause", "paused", "hold the key's messages"),
        ("resume", "resume", "resumed", "deliver again"),
        ("resetRate", "reset-rate", "reset the rate of", "zero the rate count, new period now"),
    ):
        api_parser(keys, name, _key_action(action, verb), help=text).add_argument("key", metavar="KEY")
    pin = api_parser(
        keys, "pin", _key_action("pin", "pinned"), help="fix limits; messages no longer change them"
    )
    pin.add_argument("key", metavar="KEY")
    pin.add_argument("--parallelism", type=int, metavar="N")
    pin.add_argument("--rate", type=int, metavar="N", help="starts per period")
    pin.add_argument("--period", type=int, metavar="SECONDS")
    unpin = api_parser(keys, "unpin", _key_action("unpin", "unpinned"), help="let messages set limits again")
    unpin.add_argument("key", metavar="KEY")
    unpin.add_argument("--parallelism", action="store_true")
    unpin.add_argument("--rate", action="store_true")
    api_parser(keys, "global", _global, help="deliveries in flight across all keys and queues")
