"""`ferry dashboard`: prints a link that opens the web dashboard signed in, with a fresh one-time
login code minted from the token the CLI already holds (the same link `ferry dev` prints once)."""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any

from ferry.client import FerryClient
from ferry.domain.dashboard_login import mint_login_code
from ferry.usecases.dashboard_sign_in import LOGIN_CODE_TTL_SECONDS


def add_dashboard_command(commands: Any, client_of: Callable[[argparse.Namespace], FerryClient]) -> None:
    command = commands.add_parser(
        "dashboard",
        help="print a link that opens the web dashboard signed in "
        f"(valid once, for {LOGIN_CODE_TTL_SECONDS // 60} minutes)",
    )
    command.set_defaults(func=lambda args: print_dashboard_link(client_of(args)))


def print_dashboard_link(client: FerryClient) -> int:
    code = mint_login_code(client.token, now=time.time(), ttl_seconds=LOGIN_CODE_TTL_SECONDS)
    print(f"Dashboard: {client.url}/dashboard/#login={code}")
    return 0
