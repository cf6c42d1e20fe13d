"""How a `ferry` command reaches the API: the client from --url/--token (or the environment),
errors as exit codes (1: the API refused or could not be reached, 2: a usage error), the
--json option every API command takes, and paging through cursors."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from typing import Any

from ferry.client import DEFAULT_TOKEN, DEFAULT_URL, ApiError, FerryClient

Handler = Callable[[FerryClient, argparse.Namespace], int]


class UsageError(Exception):
    """Bad command-line input found after parsing (exit code 2)."""


def client_of(args: argparse.Namespace) -> FerryClient:
    env = os.environ
    url = args.api_url or env.get("FERRY_URL") or env.get("QSTASH_URL") or DEFAULT_URL
    token = args.api_token or env.get("FERRY_TOKEN") or env.get("QSTASH_TOKEN") or DEFAULT_TOKEN
    return FerryClient(url, token)


def api_command(handler: Callable[[FerryClient, argparse.Namespace], int | None]):
    def run(args: argparse.Namespace) -> int:
        try:
            return handler(client_of(args), args) or 0
        except ApiError as exc:
            print(f"ferry: {exc}", file=sys.stderr)
            return 1

    return run


def api_parser(
    commands: Any, name: str, handler: Callable[[FerryClient, argparse.Namespace], int], **kwargs: Any
) -> argparse.ArgumentParser:
    output = argparse.ArgumentParser(add_help=False)
    output.add_argument(
        "--json", action="store_true", default=argparse.SUPPRESS, help="print the API's JSON answer as it is"
    )
    command = commands.add_parser(name, parents=[output], **kwargs)
    command.set_defaults(func=api_command(handler), command_parser=command)
    return command


def pages(fetch: Callable[[str | None], Any], key: str, all_pages: bool) -> tuple[list[Any], str | None]:
    """Items under `key` from one page, or from every page following `cursor`."""
    items: list[Any] = []
    cursor: str | None = None
    seen: set[str] = set()
    while True:
        page = fetch(cursor) or {}
        items.extend(page.get(key) or [])
        cursor = page.get("cursor")
        cursor = str(cursor) if cursor not in (None, "", 0, "0") else None
        if not all_pages or cursor is None or cursor in seen:
            return items, cursor
        seen.add(cursor)
