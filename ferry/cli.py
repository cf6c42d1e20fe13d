"""The `ferry` command line."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading


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
    stopping = threading.Event()

    def _stop(signum: int, _frame: object) -> None:
        stopping.set()

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    try:
        stack.start()
    except OSError as exc:
        print(f"ferry dev: cannot start: {exc} (is port {args.port} in use? try --port)", file=sys.stderr)
        stack.stop()
        return 1
    print("Ferry dev is running. Point a QStash SDK at it with:", flush=True)
    for name, value in stack.client_env().items():
        print(f"{name}={value}", flush=True)
    print("Loopback and private destinations are allowed (dev only). Ctrl-C stops.", flush=True)
    stopping.wait()
    print("ferry dev: stopping", flush=True)
    stack.stop()
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ferry", description="Ferry: serverless background jobs in your AWS account"
    )
    commands = parser.add_subparsers(dest="command", required=True)

    dev = commands.add_parser("dev", help="run the whole stack locally on an embedded AWS emulator")
    dev.add_argument("--port", type=int, default=int(os.environ.get("FERRY_DEV_PORT", "8080")))
    dev.add_argument("--host", default="127.0.0.1", help="interface to listen on (default: loopback only)")
    dev.add_argument("--token", help="API token (default: ferry-dev-token or $FERRY_DEV_TOKEN)")
    dev.add_argument("--current-signing-key", help="signing key (default: a fixed documented dev key)")
    dev.add_argument("--next-signing-key", help="next signing key (default: a fixed documented dev key)")
    dev.add_argument("--verbose", action="store_true", help="log every request and delivery")
    dev.set_defaults(func=_dev)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
