"""`ferry publish`, `ferry messages get|cancel`, `ferry logs`, `ferry dlq ...` and `ferry keys ...`:
the message API, command by command."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any

from ferry.cli_api import UsageError, api_parser, pages
from ferry.cli_message_options import add_message_options, body_of, config_headers, identifier
from ferry.cli_output import json_wanted, more, plural, print_json, print_record, show, table, when
from ferry.client import FerryClient


def _publish(client: FerryClient, args: argparse.Namespace) -> int:
    result = client.publish(
        args.destination, body=body_of(args), headers=config_headers(args), queue=args.queue
    )
    if json_wanted(args):
        print_json(result)
        return 0
    print(result["messageId"])
    if result.get("deduplicated"):
        print("ferry: deduplicated: a message with this id was published recently", file=sys.stderr)
    return 0


def _messages_get(client: FerryClient, args: argparse.Namespace) -> int:
    return show(args, client.get_message(args.message_id), print_record)


def _messages_cancel(client: FerryClient, args: argparse.Namespace) -> int:
    ids = list(dict.fromkeys(args.message_ids))
    if args.all and ids:
        raise UsageError("give message ids or --all, not both")
    if not args.all and not ids:
        raise UsageError("give one or more message ids, or --all")
    if args.all:
        result = client.cancel_all_messages()
    elif len(ids) == 1:
        result = client.cancel_message(ids[0])
    else:
        result = client.cancel_messages(ids)
    if json_wanted(args):
        print_json(result)
        return 0
    cancelled = int(result.get("cancelled", 0))
    if args.all:
        print(f"cancelled {plural(cancelled, 'message')}")
    elif cancelled == 0 and len(ids) == 1:
        print(f"{ids[0]}: already finished, nothing to cancel")
    elif cancelled < len(ids):
        others = "the others had finished or are unknown"
        print(f"cancelled {cancelled} of {plural(len(ids), 'message')} ({others})")
    else:
        print(f"cancelled {plural(cancelled, 'message')}")
    return 0


def _logs(client: FerryClient, args: argparse.Namespace) -> int:
    filters = {"messageId": args.message_id, "state": args.state, "url": args.filter_url, "label": args.label}

    def fetch(cursor: str | None) -> Any:
        return client.events(cursor=cursor or args.cursor, count=args.count, **filters)

    events, cursor = pages(fetch, "events", args.all_pages)
    if json_wanted(args):
        print_json({"events": events, **({"cursor": cursor} if cursor else {})})
        return 0
    if not events:
        print("ferry: no log entries match", file=sys.stderr)
    rows = []
    for event in events:
        detail = []
        if event.get("responseStatus"):
            detail.append(str(event["responseStatus"]))
        if event.get("error"):
            detail.append(str(event["error"]))
        if event.get("nextDeliveryTime"):
            detail.append("next " + when(event["nextDeliveryTime"]))
        if event.get("dlqId"):
            detail.append(str(event["dlqId"]))
        at, state = when(event.get("time")), event.get("state", "")
        rows.append([at, state, event.get("messageId", ""), event.get("url", ""), " ".join(detail)])
    table(rows)
    more(cursor, args)
    return 0


def _dlq_list(client: FerryClient, args: argparse.Namespace) -> int:
    def fetch(cursor: str | None) -> Any:
        return client.dlq_list(cursor=cursor or args.cursor, count=args.count, url=args.filter_url)

    messages, cursor = pages(fetch, "messages", args.all_pages)
    if json_wanted(args):
        print_json({"messages": messages, **({"cursor": cursor} if cursor else {})})
        return 0
    if not messages:
        print("ferry: the dead-letter queue is empty (for these filters)", file=sys.stderr)
    table(
        [
            m.get("dlqId", ""),
            when(m.get("createdAt")),
            m.get("responseStatus", ""),
            m.get("messageId", ""),
            m.get("url", ""),
        ]
        for m in messages
    )
    more(cursor, args)
    return 0


def _dlq_get(client: FerryClient, args: argparse.Namespace) -> int:
    return show(args, client.dlq_get(args.dlq_id), print_record)


def _dlq_retry(client: FerryClient, args: argparse.Namespace) -> int:
    result = client.dlq_retry(list(dict.fromkeys(args.dlq_ids)))
    if json_wanted(args):
        print_json(result)
        return 0
    for response in result.get("responses") or []:
        print(response.get("messageId", ""))
    return 0


def _dlq_delete(client: FerryClient, args: argparse.Namespace) -> int:
    ids = list(dict.fromkeys(args.dlq_ids))
    result = client.dlq_delete(ids[0]) if len(ids) == 1 else client.dlq_delete_many(ids)
    if json_wanted(args):
        print_json(result)
        return 0
    deleted = int(result.get("deleted", 0))
    if deleted < len(ids):
        print(f"deleted {deleted} of {plural(len(ids), 'DLQ entry')} (the others were not found)")
    else:
        print(f"deleted {plural(deleted, 'DLQ entry')}")
    return 0


def _keys(rotate: bool) -> Callable[[FerryClient, argparse.Namespace], int]:
    def run(client: FerryClient, args: argparse.Namespace) -> int:
        keys = client.rotate_keys() if rotate else client.keys()
        if json_wanted(args):
            print_json(keys)
        else:
            print(f"current: {keys.get('current', '')}")
            print(f"next:    {keys.get('next', '')}")
        return 0

    return run


def add_message_commands(commands: Any) -> None:
    publish = api_parser(
        commands, "publish", _publish, help="publish a message to a URL; prints its message id"
    )
    publish.add_argument("destination", metavar="URL", help="where to deliver (absolute http(s) URL)")
    add_message_options(publish)
    publish.add_argument("--not-before", type=int, metavar="UNIX", help="deliver at this unix time (seconds)")
    publish.add_argument("--dedup-id", metavar="ID", help="Upstash-Deduplication-Id")
    publish.add_argument("--queue", metavar="NAME", help="enqueue on this FIFO queue (/v2/enqueue/NAME/URL)")

    messages = commands.add_parser("messages", help="get or cancel messages").add_subparsers(
        dest="messages_command", required=True, metavar="{get,cancel}"
    )
    get = api_parser(messages, "get", _messages_get, help="show a message")
    get.add_argument("message_id", metavar="ID", type=identifier)
    cancel = api_parser(messages, "cancel", _messages_cancel, help="cancel messages")
    cancel.add_argument("message_ids", nargs="*", metavar="ID", type=identifier)
    cancel.add_argument("--all", action="store_true", help="cancel every pending message")

    logs = api_parser(commands, "logs", _logs, help="message state transitions, newest first")
    logs.add_argument("--message-id", metavar="ID")
    logs.add_argument("--state", type=str.upper, metavar="STATE", help="e.g. DELIVERED, FAILED, IN_PROGRESS")
    logs.add_argument("--url", dest="filter_url", metavar="URL", help="destination URL")
    logs.add_argument("--label", metavar="LABEL")
    logs.add_argument("--count", type=int, metavar="N", help="entries per page (API default 100)")
    logs.add_argument("--cursor", metavar="CURSOR", help="start from a cursor an earlier page gave")
    logs.add_argument("--all-pages", action="store_true", help="follow the cursor to the last page")

    dlq = commands.add_parser("dlq", help="the dead-letter queue").add_subparsers(
        dest="dlq_command", required=True, metavar="{list,get,retry,delete}"
    )
    dlq_list = api_parser(dlq, "list", _dlq_list, help="list dead letters")
    dlq_list.add_argument("--url", dest="filter_url", metavar="URL", help="destination URL")
    dlq_list.add_argument("--count", type=int, metavar="N", help="entries per page (1 to 100)")
    dlq_list.add_argument("--cursor", metavar="CURSOR", help="start from a cursor an earlier page gave")
    dlq_list.add_argument("--all-pages", action="store_true", help="follow the cursor to the last page")
    dlq_get = api_parser(dlq, "get", _dlq_get, help="show a dead letter and its last response")
    dlq_get.add_argument("dlq_id", metavar="ID", type=identifier)
    retry = api_parser(
        dlq, "retry", _dlq_retry, help="publish dead letters again; prints the new message ids"
    )
    retry.add_argument("dlq_ids", nargs="+", metavar="ID", type=identifier)
    delete = api_parser(dlq, "delete", _dlq_delete, help="delete dead letters")
    delete.add_argument("dlq_ids", nargs="+", metavar="ID", type=identifier)

    keys = commands.add_parser("keys", help="signing keys").add_subparsers(
        dest="keys_command", required=True, metavar="{get,rotate}"
    )
    api_parser(keys, "get", _keys(rotate=False), help="show the current and next signing keys")
    api_parser(keys, "rotate", _keys(rotate=True), help="next becomes current; a new next is made")
