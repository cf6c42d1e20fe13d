"""The `ferry` command line: `ferry dev`, and commands that talk to the HTTP API (of `ferry dev` or
a deployed stack) through `ferry.client`.

Exit codes: 0 success, 1 the API refused the request (its error message goes to stderr) or could
not be reached, 2 a usage error.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import signal
import sys
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from ferry import cli_flow
from ferry.cli_dashboard import add_dashboard_command
from ferry.cli_runs import add_runs_commands
from ferry.client import DEFAULT_TOKEN, DEFAULT_URL, ApiError, FerryClient


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
        port=args.port, host=args.host, secrets=secrets, log_level="INFO" if args.verbose else "WARNING"
    )
    # SIGINT and SIGTERM are blocked in every thread (the ones started below inherit the mask)
    # and taken by `sigwait` here: no Python-level handler that could run while a lock is held,
    # so a stop signal is never lost, even one that arrives during start-up.
    stop_signals = {signal.SIGINT, signal.SIGTERM}
    signal.pthread_sigmask(signal.SIG_BLOCK, stop_signals)
    try:
        stack.start()
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


def dev_banner_lines(stack: object) -> list[str]:
    """Extra `Name: value` lines of `ferry dev`'s start-up banner (e.g. `Dashboard: <url>`):
    a feature adds its line here."""
    return [f"Dashboard: {stack.dashboard_url()}"]  # type: ignore[attr-defined]


# --- talking to the API ---------------------------------------------------------------------------


class UsageError(Exception):
    """Bad command-line input found after parsing (exit code 2)."""


def _client(args: argparse.Namespace) -> FerryClient:
    env = os.environ
    url = args.api_url or env.get("FERRY_URL") or env.get("QSTASH_URL") or DEFAULT_URL
    token = args.api_token or env.get("FERRY_TOKEN") or env.get("QSTASH_TOKEN") or DEFAULT_TOKEN
    return FerryClient(url, token)


def _api_command(handler: Callable[[FerryClient, argparse.Namespace], int | None]):
    def run(args: argparse.Namespace) -> int:
        try:
            return handler(_client(args), args) or 0
        except ApiError as exc:
            print(f"ferry: {exc}", file=sys.stderr)
            return 1

    return run


def _json_wanted(args: argparse.Namespace) -> bool:
    return bool(getattr(args, "json", False))


def _print_json(data: Any) -> None:
    print(json.dumps(data, indent=2))


def _show(args: argparse.Namespace, data: Any, human: Callable[[Any], None]) -> int:
    """The answer as JSON with --json, else in `human` form."""
    if _json_wanted(args):
        _print_json(data)
    else:
        human(data)
    return 0


_TIME_KEYS = {"time", "createdAt", "notBefore", "nextDeliveryTime", "nextScheduleTime", "lastScheduleTime"}
# Second spellings the API sends for SDK compatibility; printed once.
_DUPLICATE_KEYS = {"callerIp", "responseHeaders", "logs", "label"}
# Printed first, in this order; the rest keep the API's order.
_FIRST_KEYS = ["scheduleId", "dlqId", "messageId", "state", "isPaused", "cron", "destination", "url"]


def _when(value: Any) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        moment = dt.datetime.fromtimestamp(value / 1000, tz=dt.UTC)
        return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    return str(value)


def _value(key: str, value: Any) -> str:
    if key in _TIME_KEYS:
        return _when(value)
    if key == "nextScheduleTimes" and isinstance(value, list):
        return ", ".join(_when(v) for v in value)
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dict):
        return json.dumps(value)
    return str(value)


def _print_record(record: Mapping[str, Any]) -> None:
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


def _table(rows: Iterable[Iterable[Any]]) -> None:
    """Rows as columns separated by two spaces; the last column is not padded."""
    rows = [[str(c) for c in row] for row in rows]
    if not rows:
        return
    widths = [max(len(row[i]) for row in rows if i < len(row)) for i in range(max(map(len, rows)))]
    for row in rows:
        cells = [cell.ljust(widths[i]) for i, cell in enumerate(row[:-1])] + row[-1:]
        print("  ".join(cells).rstrip())


def _plural(count: int, noun: str) -> str:
    if count == 1:
        return f"{count} {noun}"
    return f"{count} {noun[:-1]}ies" if noun.endswith("y") else f"{count} {noun}s"


# --- publish and schedule options -----------------------------------------------------------------

_HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")


def _identifier(value: str) -> str:
    """An id argument: never empty, since `DELETE /v2/dlq/` with no id could mean "all"."""
    if not value.strip():
        raise argparse.ArgumentTypeError("an id cannot be empty")
    return value.strip()


def _duration(value: str) -> str:
    """A bare number of seconds becomes `<n>s`, as the SDKs send it."""
    value = value.strip()
    return value + "s" if value.isdigit() else value


def _forwarded(raw: str) -> tuple[str, str]:
    name, colon, value = raw.partition(":")
    name = name.strip()
    if not colon or not _HEADER_NAME.match(name):
        raise UsageError(f"--header {raw!r}: use 'Name: value'")
    value = value.strip()
    lowered = name.lower()
    # As the JS SDK does: Content-Type and Upstash-* headers go as they are, the rest are forwarded.
    if lowered == "content-type" or lowered.startswith("upstash-"):
        return name, value
    return "Upstash-Forward-" + name, value


def _body(args: argparse.Namespace) -> bytes:
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


def _config_headers(args: argparse.Namespace) -> dict[str, str]:
    """The Upstash-* headers shared by publish and schedules create."""
    headers: dict[str, str] = {}
    for raw in args.header or []:
        name, value = _forwarded(raw)
        headers[name] = value
    options: dict[str, Any] = {
        "Content-Type": args.content_type,
        "Upstash-Method": args.method,
        "Upstash-Delay": args.delay and _duration(args.delay),
        "Upstash-Retries": args.retries,
        "Upstash-Retry-Delay": args.retry_delay,
        "Upstash-Timeout": args.timeout and _duration(args.timeout),
        "Upstash-Callback": args.callback,
        "Upstash-Failure-Callback": args.failure_callback,
        "Upstash-Label": ",".join(args.label) if args.label else None,
        "Upstash-Not-Before": getattr(args, "not_before", None),
        "Upstash-Deduplication-Id": getattr(args, "dedup_id", None),
        "Upstash-Schedule-Id": getattr(args, "schedule_id", None),
    }
    headers.update({name: str(value) for name, value in options.items() if value is not None})
    return headers


def _add_message_options(command: argparse.ArgumentParser) -> None:
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


# --- commands -----------------------------------------------------------------------------------


def _publish(client: FerryClient, args: argparse.Namespace) -> int:
    result = client.publish(
        args.destination, body=_body(args), headers=_config_headers(args), queue=args.queue
    )
    if _json_wanted(args):
        _print_json(result)
        return 0
    print(result["messageId"])
    if result.get("deduplicated"):
        print("ferry: deduplicated: a message with this id was published recently", file=sys.stderr)
    return 0


def _messages_get(client: FerryClient, args: argparse.Namespace) -> int:
    return _show(args, client.get_message(args.message_id), _print_record)


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
    if _json_wanted(args):
        _print_json(result)
        return 0
    cancelled = int(result.get("cancelled", 0))
    if args.all:
        print(f"cancelled {_plural(cancelled, 'message')}")
    elif cancelled == 0 and len(ids) == 1:
        print(f"{ids[0]}: already finished, nothing to cancel")
    elif cancelled < len(ids):
        others = "the others had finished or are unknown"
        print(f"cancelled {cancelled} of {_plural(len(ids), 'message')} ({others})")
    else:
        print(f"cancelled {_plural(cancelled, 'message')}")
    return 0


def _pages(fetch: Callable[[str | None], Any], key: str, all_pages: bool) -> tuple[list[Any], str | None]:
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


def _more(cursor: str | None, args: argparse.Namespace) -> None:
    if cursor and not _json_wanted(args):
        print(f"ferry: more on the next page: add --cursor {cursor} (or --all-pages)", file=sys.stderr)


def _logs(client: FerryClient, args: argparse.Namespace) -> int:
    filters = {"messageId": args.message_id, "state": args.state, "url": args.filter_url, "label": args.label}

    def fetch(cursor: str | None) -> Any:
        return client.events(cursor=cursor or args.cursor, count=args.count, **filters)

    events, cursor = _pages(fetch, "events", args.all_pages)
    if _json_wanted(args):
        _print_json({"events": events, **({"cursor": cursor} if cursor else {})})
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
            detail.append("next " + _when(event["nextDeliveryTime"]))
        if event.get("dlqId"):
            detail.append(str(event["dlqId"]))
        when, state = _when(event.get("time")), event.get("state", "")
        rows.append([when, state, event.get("messageId", ""), event.get("url", ""), " ".join(detail)])
    _table(rows)
    _more(cursor, args)
    return 0


def _dlq_list(client: FerryClient, args: argparse.Namespace) -> int:
    def fetch(cursor: str | None) -> Any:
        return client.dlq_list(cursor=cursor or args.cursor, count=args.count, url=args.filter_url)

    messages, cursor = _pages(fetch, "messages", args.all_pages)
    if _json_wanted(args):
        _print_json({"messages": messages, **({"cursor": cursor} if cursor else {})})
        return 0
    if not messages:
        print("ferry: the dead-letter queue is empty (for these filters)", file=sys.stderr)
    _table(
        [
            m.get("dlqId", ""),
            _when(m.get("createdAt")),
            m.get("responseStatus", ""),
            m.get("messageId", ""),
            m.get("url", ""),
        ]
        for m in messages
    )
    _more(cursor, args)
    return 0


def _dlq_get(client: FerryClient, args: argparse.Namespace) -> int:
    return _show(args, client.dlq_get(args.dlq_id), _print_record)


def _dlq_retry(client: FerryClient, args: argparse.Namespace) -> int:
    result = client.dlq_retry(list(dict.fromkeys(args.dlq_ids)))
    if _json_wanted(args):
        _print_json(result)
        return 0
    for response in result.get("responses") or []:
        print(response.get("messageId", ""))
    return 0


def _dlq_delete(client: FerryClient, args: argparse.Namespace) -> int:
    ids = list(dict.fromkeys(args.dlq_ids))
    result = client.dlq_delete(ids[0]) if len(ids) == 1 else client.dlq_delete_many(ids)
    if _json_wanted(args):
        _print_json(result)
        return 0
    deleted = int(result.get("deleted", 0))
    if deleted < len(ids):
        print(f"deleted {deleted} of {_plural(len(ids), 'DLQ entry')} (the others were not found)")
    else:
        print(f"deleted {_plural(deleted, 'DLQ entry')}")
    return 0


def _keys(rotate: bool) -> Callable[[FerryClient, argparse.Namespace], int]:
    def run(client: FerryClient, args: argparse.Namespace) -> int:
        keys = client.rotate_keys() if rotate else client.keys()
        if _json_wanted(args):
            _print_json(keys)
        else:
            print(f"current: {keys.get('current', '')}")
            print(f"next:    {keys.get('next', '')}")
        return 0

    return run


def _schedules_create(client: FerryClient, args: argparse.Namespace) -> int:
    headers = _config_headers(args)
    if args.queue:
        headers["Upstash-Queue-Name"] = args.queue
    result = client.create_schedule(args.destination, args.cron, body=_body(args), headers=headers)
    return _show(args, result, lambda r: print(r["scheduleId"]))


def _schedules_list(client: FerryClient, args: argparse.Namespace) -> int:
    schedules = client.list_schedules() or []
    if _json_wanted(args):
        _print_json(schedules)
        return 0
    if not schedules:
        print("ferry: no schedules", file=sys.stderr)
    _table(
        [
            s.get("scheduleId", ""),
            "paused" if s.get("isPaused") else "active",
            s.get("cron", ""),
            "next " + _when(s["nextScheduleTime"]) if s.get("nextScheduleTime") else "-",
            s.get("destination", ""),
        ]
        for s in schedules
    )
    return 0


def _schedules_get(client: FerryClient, args: argparse.Namespace) -> int:
    return _show(args, client.get_schedule(args.schedule_id), _print_record)


def _schedule_action(action: str) -> Callable[[FerryClient, argparse.Namespace], int]:
    def run(client: FerryClient, args: argparse.Namespace) -> int:
        call = {
            "paused": client.pause_schedule,
            "resumed": client.resume_schedule,
            "deleted": client.delete_schedule,
        }[action]
        result = call(args.schedule_id)
        return _show(
            args, result if result is not None else {}, lambda _: print(f"{action} {args.schedule_id}")
        )

    return run


# --- the parser ---------------------------------------------------------------------------------


def _api_parser(
    commands: Any, name: str, handler: Callable[[FerryClient, argparse.Namespace], int], **kwargs: Any
) -> argparse.ArgumentParser:
    output = argparse.ArgumentParser(add_help=False)
    output.add_argument(
        "--json", action="store_true", default=argparse.SUPPRESS, help="print the API's JSON answer as it is"
    )
    command = commands.add_parser(name, parents=[output], **kwargs)
    command.set_defaults(func=_api_command(handler), command_parser=command)
    return command


def _add_api_commands(commands: Any) -> None:
    publish = _api_parser(
        commands, "publish", _publish, help="publish a message to a URL; prints its message id"
    )
    publish.add_argument("destination", metavar="URL", help="where to deliver (absolute http(s) URL)")
    _add_message_options(publish)
    publish.add_argument("--not-before", type=int, metavar="UNIX", help="deliver at this unix time (seconds)")
    publish.add_argument("--dedup-id", metavar="ID", help="Upstash-Deduplication-Id")
    publish.add_argument("--queue", metavar="NAME", help="enqueue on this FIFO queue (/v2/enqueue/NAME/URL)")

    messages = commands.add_parser("messages", help="get or cancel messages").add_subparsers(
        dest="messages_command", required=True, metavar="{get,cancel}"
    )
    get = _api_parser(messages, "get", _messages_get, help="show a message")
    get.add_argument("message_id", metavar="ID", type=_identifier)
    cancel = _api_parser(messages, "cancel", _messages_cancel, help="cancel messages")
    cancel.add_argument("message_ids", nargs="*", metavar="ID", type=_identifier)
    cancel.add_argument("--all", action="store_true", help="cancel every pending message")

    logs = _api_parser(commands, "logs", _logs, help="message state transitions, newest first")
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
    dlq_list = _api_parser(dlq, "list", _dlq_list, help="list dead letters")
    dlq_list.add_argument("--url", dest="filter_url", metavar="URL", help="destination URL")
    dlq_list.add_argument("--count", type=int, metavar="N", help="entries per page (1 to 100)")
    dlq_list.add_argument("--cursor", metavar="CURSOR", help="start from a cursor an earlier page gave")
    dlq_list.add_argument("--all-pages", action="store_true", help="follow the cursor to the last page")
    dlq_get = _api_parser(dlq, "get", _dlq_get, help="show a dead letter and its last response")
    dlq_get.add_argument("dlq_id", metavar="ID", type=_identifier)
    retry = _api_parser(
        dlq, "retry", _dlq_retry, help="publish dead letters again; prints the new message ids"
    )
    retry.add_argument("dlq_ids", nargs="+", metavar="ID", type=_identifier)
    delete = _api_parser(dlq, "delete", _dlq_delete, help="delete dead letters")
    delete.add_argument("dlq_ids", nargs="+", metavar="ID", type=_identifier)

    keys = commands.add_parser("keys", help="signing keys").add_subparsers(
        dest="keys_command", required=True, metavar="{get,rotate}"
    )
    _api_parser(keys, "get", _keys(rotate=False), help="show the current and next signing keys")
    _api_parser(keys, "rotate", _keys(rotate=True), help="next becomes current; a new next is made")

    schedules = commands.add_parser("schedules", help="cron schedules").add_subparsers(
        dest="schedules_command", required=True, metavar="{create,list,get,pause,resume,delete}"
    )
    create = _api_parser(
        schedules, "create", _schedules_create, help="create (or replace) a schedule; prints its id"
    )
    create.add_argument("destination", metavar="URL", help="where each firing is delivered")
    create.add_argument(
        "--cron", required=True, help="5-field cron, optionally 'CRON_TZ=Zone ...' (UTC default)"
    )
    create.add_argument("--schedule-id", metavar="ID", help="create or replace the schedule with this id")
    create.add_argument("--queue", metavar="NAME", help="each firing is enqueued on this queue")
    _add_message_options(create)
    _api_parser(schedules, "list", _schedules_list, help="list schedules")
    for name, handler, text in (
        ("get", _schedules_get, "show a schedule"),
        ("pause", _schedule_action("paused"), "pause a schedule"),
        ("resume", _schedule_action("resumed"), "resume a paused schedule"),
        ("delete", _schedule_action("deleted"), "delete a schedule"),
    ):
        _api_parser(schedules, name, handler, help=text).add_argument(
            "schedule_id", metavar="ID", type=_identifier
        )


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
    dev.set_defaults(func=_dev)

    _add_api_commands(commands)
    cli_flow.add_commands(commands)
    add_runs_commands(commands, _api_parser)
    add_dashboard_command(commands, _client)
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
