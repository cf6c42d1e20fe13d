"""`ferry runs list|get|cancel|redrive`: workflow runs through the API (docs/workflows.md)."""

from __future__ import annotations

import argparse
import datetime
import json
from collections.abc import Callable
from typing import Any

from ferry.cli_output import show, table
from ferry.client import FerryClient

ApiParser = Callable[..., argparse.ArgumentParser]
STATES = ("RUN_STARTED", "RUN_SUCCESS", "RUN_FAILED", "RUN_CANCELED")


def _when(ms: Any) -> str:
    if not isinstance(ms, int):
        return "-"
    return datetime.datetime.fromtimestamp(ms / 1000, tz=datetime.UTC).strftime("%Y-%m-%d %H:%M:%S")


def _time_ms(text: str) -> int:
    """A time for --from/--to: unix milliseconds, or ISO 8601 (UTC when no offset is given)."""
    if text.isascii() and text.isdigit():  # (isdigit alone takes "²" and other scripts' digits)
        return int(text)
    try:
        at = datetime.datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is neither unix milliseconds nor an ISO 8601 time (2026-12-02T16:00:00Z)"
        ) from None
    if at.tzinfo is None:
        at = at.replace(tzinfo=datetime.UTC)
    return int(at.timestamp() * 1000)


def _list(client: FerryClient, args: argparse.Namespace) -> int:
    query = {
        "state": args.state,
        "workflowUrl": args.workflow_url,
        "fromDate": args.from_ms,
        "toDate": args.to_ms,
        "count": args.count,
        "cursor": args.cursor,
    }
    data = client.request("GET", "/v2/workflows/runs", query=query)

    def human(answer: Any) -> None:
        runs = answer.get("runs") or []
        if not runs:
            print("no runs")
            return
        table(
            [["RUN", "STATE", "CREATED", "STEPS", "URL"]]
            + [
                [
                    run["workflowRunId"],
                    run["workflowState"],
                    _when(run.get("workflowRunCreatedAt")),
                    str(sum(1 for s in run.get("steps", []) if "stepId" in s)),
                    run.get("workflowUrl", ""),
                ]
                for run in runs
            ]
        )
        if answer.get("cursor"):
            print(f"more: --cursor {answer['cursor']}")

    return show(args, data, human)


def _get(client: FerryClient, args: argparse.Namespace) -> int:
    data = client.request("GET", f"/v2/workflows/runs/{args.run_id}")

    def human(run: Any) -> None:
        print(f"run        {run['workflowRunId']}")
        print(f"state      {run['workflowState']}")
        print(f"url        {run.get('workflowUrl')}")
        print(f"created    {_when(run.get('workflowRunCreatedAt'))}")
        print(f"execution  {run.get('executionArn')}")
        if run.get("error"):
            print(f"error      {run['error']}")
        rows = [["#", "KIND", "STEP", "TYPE", "STATE", "AT", "ATTEMPTS", "MS", "OUT"]]
        for index, step in enumerate(run.get("steps", [])):
            out = step.get("out")
            shown = "" if out is None else (out if isinstance(out, str) else json.dumps(out))
            rows.append(
                [
                    str(index),
                    step.get("callType", ""),
                    str(step.get("stepName", "")),
                    str(step.get("stepType", "")),
                    str(step.get("state") or ""),
                    _when(step.get("createdAt")),
                    str(len(step.get("attempts") or [])),
                    str(step.get("durationMs", "")),
                    shown[:60],
                ]
            )
        table(rows)

    return show(args, data, human)


def _cancel(client: FerryClient, args: argparse.Namespace) -> int:
    if len(args.run_ids) == 1:
        data = client.request("DELETE", f"/v2/workflows/runs/{args.run_ids[0]}")
        count = 1 if data.get("cancelled") else 0
    else:
        data = client.request(
            "DELETE", "/v2/workflows/runs", query={"workflowRunIds": ",".join(args.run_ids)}
        )
        count = int(data.get("cancelled", 0))
    return show(args, data, lambda _: print(f"cancelled {count} of {len(args.run_ids)} run(s)"))


def _redrive(client: FerryClient, args: argparse.Namespace) -> int:
    data = client.request("POST", f"/v2/workflows/runs/{args.run_id}/redrive")
    return show(
        args, data, lambda d: print(f"{d['workflowRunId']} {d['workflowState']} ({d['executionArn']})")
    )


def add_runs_commands(commands: Any, api_parser: ApiParser) -> None:
    runs = commands.add_parser("runs", help="workflow runs").add_subparsers(
        dest="runs_command", required=True, metavar="{list,get,cancel,redrive}"
    )
    listing = api_parser(runs, "list", _list, help="list runs, newest first")
    listing.add_argument("--state", choices=STATES, help="only runs in this state")
    listing.add_argument("--url", dest="workflow_url", metavar="URL", help="only runs of this workflow URL")
    listing.add_argument(
        "--from", dest="from_ms", type=_time_ms, metavar="TIME", help="only runs created at or after TIME"
    )
    listing.add_argument(
        "--to", dest="to_ms", type=_time_ms, metavar="TIME", help="only runs created at or before TIME"
    )
    listing.add_argument("--count", type=int, metavar="N", help="runs per page (default 100)")
    listing.add_argument("--cursor", metavar="CURSOR", help="start from a cursor an earlier page gave")
    get = api_parser(runs, "get", _get, help="show a run with its step timeline")
    get.add_argument("run_id", metavar="RUN_ID")
    cancel = api_parser(runs, "cancel", _cancel, help="cancel runs (their executions are stopped)")
    cancel.add_argument("run_ids", nargs="+", metavar="RUN_ID")
    redrive = api_parser(runs, "redrive", _redrive, help="restart a failed run from its failed step")
    redrive.add_argument("run_id", metavar="RUN_ID")
