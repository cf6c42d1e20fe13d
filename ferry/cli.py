"""The `ferry` command line: `ferry dev`, and commands that talk to the HTTP API (of `ferry dev` or
a deployed stack) through `ferry.client`.

Exit codes: 0 success, 1 the API refused the request (its error message goes to stderr) or could
not be reached, 2 a usage error.

This module holds `ferry dev` and the parser; each group of API commands is a module of its own
(cli_messages: publish, messages, logs, dlq, keys; cli_schedules; cli_flow: queues and flow
control; cli_runs: workflow runs; cli_dashboard), on the shared cli_api (client, errors, --json,
paging), cli_output (records and tables) and cli_message_options (publish/schedule options).
A new command group adds a module with an `add_..._commands(commands)` and one line below.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys

from ferry import cli_flow
from ferry.cli_api import UsageError, api_parser, client_of
from ferry.cli_dashboard import add_dashboard_command
from ferry.cli_messages import add_message_commands
from ferry.cli_runs import add_runs_commands
from ferry.cli_schedules import add_schedule_commands
from ferry.client import DEFAULT_TOKEN, DEFAULT_URL
from ferry.dev.cpu_affinity import CpuChoice, CpuChoiceRefused, parse_cpu_choice


def _dev(args: argparse.Namespace) -> int:
    from ferry.dev.resources import DevSecrets
    from ferry.dev.stack import DevStack

    secrets = DevSecrets(
        api_token=args.token or os.environ.get("FERRY_DEV_TOKEN") or DevSecrets.api_token,
        current_signing_key=args.current_signing_key
        or os.environ.get("FERRY_DEV_CURRENT_SIGNING_KEY")
        or DevSecrets.current_signing_key,
        next_signing_key=args.next_signing_key
        or os.environ.get("FERRY_DEV_NEXT_SIGNING_KEY")
        or DevSecrets.next_signing_key,
    )
    stack = DevStack(
        port=args.port,
        host=args.host,
        secrets=secrets,
        log_level="INFO" if args.verbose else "WARNING",
        cpu=args.cpu,
    )
    # SIGINT and SIGTERM are blocked in every thread (the ones started below inherit the mask)
    # and taken by `sigwait` here: no Python-level handler that could run while a lock is held,
    # so a stop signal is never lost, even one that arrives during start-up.
    stop_signals = {signal.SIGINT, signal.SIGTERM}
    signal.pthread_sigmask(signal.SIG_BLOCK, stop_signals)
    try:
        stack.start()
    except CpuChoiceRefused as exc:
        print(f"ferry dev: cannot start: {exc} (try --cpu auto)", file=sys.stderr)
        stack.stop(timeout=DEV_STOP_SECONDS)
        return 1
    except OSError as exc:
        print(f"ferry dev: cannot start: {exc} (is port {args.port} in use? try --port)", file=sys.stderr)
        stack.stop(timeout=DEV_STOP_SECONDS)
        return 1
    print("Ferry dev is running. Point a QStash SDK at it with:", flush=True)
    for name, value in stack.client_env().items():
        print(f"{name}={value}", flush=True)
    for line in dev_banner_lines(stack):
        print(line, flush=True)
    print("Loopback and private destinations are allowed (dev only).", flush=True)
    print("All state is in memory: stopping ferry dev loses every message, log and schedule.", flush=True)
    print("Ctrl-C stops.", flush=True)
    signal.sigwait(stop_signals)
    print("ferry dev: stopping", flush=True)
    # Deliveries in flight get a moment to finish; whatever still runs then is abandoned (its
    # state dies with the process anyway). `os._exit`, not a return: the interpreter's exit
    # would join the dispatcher's thread pool, i.e. wait for a slow destination's answer.
    stack.stop(timeout=DEV_STOP_SECONDS)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


# Seconds `ferry dev` waits for deliveries in flight once told to stop (it must end within 5 s).
DEV_STOP_SECONDS = 2.0


def _cpu_choice(text: str) -> CpuChoice:
    try:
        return parse_cpu_choice(text)
    except CpuChoiceRefused as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def dev_banner_lines(stack: object) -> list[str]:
    """Extra `Name: value` lines of `ferry dev`'s start-up banner (e.g. `Dashboard: <url>`):
    a feature adds its line here."""
    lines = [f"Dashboard: {stack.dashboard_url()}"]  # type: ignore[attr-defined]
    pinned = getattr(stack, "pinned", None)
    if pinned is not None:
        lines.append(f"CPU: {pinned.cpu} (every thread of ferry dev runs there; --cpu off to let them move)")
    return lines


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ferry",
        description="Ferry: serverless background jobs in your AWS account",
        epilog="API commands talk to --url with --token, else $FERRY_URL/$FERRY_TOKEN, else "
        f"$QSTASH_URL/$QSTASH_TOKEN, else the `ferry dev` defaults ({DEFAULT_URL}, {DEFAULT_TOKEN}). "
        "Give --url and --token before the command: `ferry --url URL logs`. "
        "Exit codes: 0 ok, 1 API error, 2 usage error.",
    )
    parser.add_argument("--url", dest="api_url", metavar="URL", help="the Ferry API (for API commands)")
    parser.add_argument("--token", dest="api_token", metavar="TOKEN", help="the API token (for API commands)")
    parser.add_argument("--json", action="store_true", help="print the API's JSON answer as it is")
    commands = parser.add_subparsers(dest="command", required=True)

    dev = commands.add_parser("dev", help="run the whole stack locally on an embedded AWS emulator")
    dev.add_argument("--port", type=int, default=int(os.environ.get("FERRY_DEV_PORT", "8080")))
    dev.add_argument("--host", default="127.0.0.1", help="interface to listen on (default: loopback only)")
    dev.add_argument("--token", help="API token (default: ferry-dev-token or $FERRY_DEV_TOKEN)")
    dev.add_argument("--current-signing-key", help="signing key (default: a fixed documented dev key)")
    dev.add_argument("--next-signing-key", help="next signing key (default: a fixed documented dev key)")
    dev.add_argument("--verbose", action="store_true", help="log every request and delivery")
    dev.add_argument(
        "--cpu",
        type=_cpu_choice,
        default=os.environ.get("FERRY_DEV_CPU") or "auto",
        help="run every thread on one CPU: auto (the idlest; default, or $FERRY_DEV_CPU), off, or a "
        "CPU number. One Python process uses about one core; kept on one, it spends less per message",
    )
    dev.set_defaults(func=_dev)

    add_message_commands(commands)
    add_schedule_commands(commands)
    cli_flow.add_commands(commands)
    add_runs_commands(commands, api_parser)
    add_dashboard_command(commands, client_of)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        try:
            return args.func(args)
        except UsageError as exc:
            command = getattr(args, "command_parser", parser)
            command.print_usage(sys.stderr)
            print(f"{command.prog}: error: {exc}", file=sys.stderr)
            return 2
    except SystemExit as exc:  # argparse: --help (0) and usage errors (2)
        return exc.code if isinstance(exc.code, int) else 0 if exc.code is None else 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
