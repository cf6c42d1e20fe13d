"""`ferry schedules create|list|get|pause|resume|delete`: cron schedules through the API."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any

from ferry.cli_api import api_parser
from ferry.cli_message_options import add_message_options, body_of, config_headers, identifier
from ferry.cli_output import json_wanted, print_json, print_record, show, table, when
from ferry.client import FerryClient


def _schedules_create(client: FerryClient, args: argparse.Namespace) -> int:
    headers = config_headers(args)
    if args.queue:
        headers["Upstash-Queue-Name"] = args.queue
    result = client.create_schedule(args.destination, args.cron, body=body_of(args), headers=headers)
    return show(args, result, lambda r: print(r["scheduleId"]))


def _schedules_list(client: FerryClient, args: argparse.Namespace) -> int:
    schedules = client.list_schedules() or []
    if json_wanted(args):
        print_json(schedules)
        return 0
    if not schedules:
        print("ferry: no schedules", file=sys.stderr)
    table(
        [
            s.get("scheduleId", ""),
            "paused" if s.get("isPaused") else "active",
            s.get("cron", ""),
            "next " + when(s["nextScheduleTime"]) if s.get("nextScheduleTime") else "-",
            s.get("destination", ""),
        ]
        for s in schedules
    )
    return 0


def _schedules_get(client: FerryClient, args: argparse.Namespace) -> int:
    return show(args, client.get_schedule(args.schedule_id), print_record)


def _schedule_action(action: str) -> Callable[[FerryClient, argparse.Namespace], int]:
    def run(client: FerryClient, args: argparse.Namespace) -> int:
        call = {
            "paused": client.pause_schedule,
            "resumed": client.resume_schedule,
            "deleted": client.delete_schedule,
        }[action]
        result = call(args.schedule_id)
        return show(
            args, result if result is not None else {}, lambda _: print(f"{action} {args.schedule_id}")
        )

    return run


def add_schedule_commands(commands: Any) -> None:
    schedules = commands.add_parser("schedules", help="cron schedules").add_subparsers(
        dest="schedules_command", required=True, metavar="{create,list,get,pause,resume,delete}"
    )
    create = api_parser(
        schedules, "create", _schedules_create, help="create (or replace) a schedule; prints its id"
    )
    create.add_argument("destination", metavar="URL", help="where each firing is delivered")
    create.add_argument(
        "--cron", required=True, help="5-field cron, optionally 'CRON_TZ=Zone ...' (UTC default)"
    )
    create.add_argument("--schedule-id", metavar="ID", help="create or replace the schedule with this id")
    create.add_argument("--queue", metavar="NAME", help="each firing is enqueued on this queue")
    add_message_options(create)
    api_parser(schedules, "list", _schedules_list, help="list schedules")
    for name, handler, text in (
        ("get", _schedules_get, "show a schedule"),
        ("pause", _schedule_action("paused"), "pause a schedule"),
        ("resume", _schedule_action("resumed"), "resume a paused schedule"),
        ("delete", _schedule_action("deleted"), "delete a schedule"),
    ):
        api_parser(schedules, name, handler, help=text).add_argument(
            "schedule_id", metavar="ID", type=identifier
        )
