"""The message options `ferry publish` and `ferry schedules create` share (body, delay, retries,
callbacks, forwarded headers, ...) and how they become Upstash-* request headers."""

from __future__ import annotations

import argparse
import re
import sys
from typing import Any

from ferry.cli_api import UsageError

_HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")


def identifier(value: str) -> str:
    """An id argument: never empty, since `DELETE /v2/dlq/` with no id could mean "all"."""
    if not value.strip():
        raise argparse.ArgumentTypeError("an id cannot be empty")
    return value.strip()


def duration(value: str) -> str:
    """A bare number of seconds becomes `<n>s`, as the SDKs send it."""
    value = value.strip()
    return value + "s" if value.isascii() and value.isdigit() else value


def _forwarded(raw: str) -> tuple[str, str]:
    name, colon, value = raw.partition(":")
    name = name.strip()
    if not colon or not _HEADER_NAME.fullmatch(name):
        raise UsageError(f"--header {raw!r}: use 'Name: value'")
    value = value.strip()
    lowered = name.lower()
    # As the JS SDK does: Content-Type and Upstash-* headers go as they are, the rest are forwarded.
    if lowered == "content-type" or lowered.startswith("upstash-"):
        return name, value
    return "Upstash-Forward-" + name, value


def body_of(args: argparse.Namespace) -> bytes:
    if args.body is not None:
        return args.body.encode("utf-8")
    if args.body_file is None:
        return b""
    if args.body_file == "-":
        return sys.stdin.buffer.read()
    try:
        with open(args.body_file, "rb") as file:
            return file.read()
    except OSError as exc:
        raise UsageError(f"--body-file: cannot read {args.body_file!r}: {exc.strerror}") from None


def config_headers(args: argparse.Namespace) -> dict[str, str]:
    """The Upstash-* headers shared by publish and schedules create."""
    headers: dict[str, str] = {}
    for raw in args.header or []:
        name, value = _forwarded(raw)
        headers[name] = value
    options: dict[str, Any] = {
        "Content-Type": args.content_type,
        "Upstash-Method": args.method,
        "Upstash-Delay": args.delay and duration(args.delay),
        "Upstash-Retries": args.retries,
        "Upstash-Retry-Delay": args.retry_delay,
        "Upstash-Timeout": args.timeout and duration(args.timeout),
        "Upstash-Callback": args.callback,
        "Upstash-Failure-Callback": args.failure_callback,
        "Upstash-Label": ",".join(args.label) if args.label else None,
        "Upstash-Not-Before": getattr(args, "not_before", None),
        "Upstash-Deduplication-Id": getattr(args, "dedup_id", None),
        "Upstash-Schedule-Id": getattr(args, "schedule_id", None),
    }
    headers.update({name: str(value) for name, value in options.items() if value is not None})
    return headers


def add_message_options(command: argparse.ArgumentParser) -> None:
    body = command.add_mutually_exclusive_group()
    body.add_argument("--body", help="the message body, as text")
    body.add_argument(
        "--body-file", metavar="PATH", help="read the body from a file, bytes as they are (- = stdin)"
    )
    command.add_argument("--content-type", metavar="TYPE", help="Content-Type of the body")
    command.add_argument(
        "--method", type=str.upper, choices=["GET", "POST", "PUT", "PATCH", "DELETE"], help="default POST"
    )
    command.add_argument("--delay", metavar="DURATION", help="e.g. 10s, 5m, 1h30m (a bare number is seconds)")
    command.add_argument(
        "--retries", type=int, metavar="N", help="retries after the first attempt (default 3)"
    )
    command.add_argument("--retry-delay", metavar="EXPR", help="backoff in ms, e.g. '1000 * pow(2, retried)'")
    command.add_argument("--timeout", metavar="DURATION", help="per-attempt timeout, e.g. 30s")
    command.add_argument(
        "--header",
        action="append",
        metavar="'NAME: VALUE'",
        help="a header to deliver (sent as Upstash-Forward-NAME; Upstash-* and Content-Type go as they are); "
        "repeatable",
    )
    command.add_argument("--callback", metavar="URL", help="called with the response after each attempt")
    command.add_argument("--failure-callback", metavar="URL", help="called when the retries run out")
    command.add_argument("--label", action="append", metavar="LABEL", help="repeatable")
