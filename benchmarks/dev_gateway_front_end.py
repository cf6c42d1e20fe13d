"""Benchmark: the CPU of `ferry dev`'s gateway front end per request, nothing behind it.

One connection's handler (`ferry.dev.gateway`'s request handler, as the gateway's server runs
it) reads `--requests` keep-alive publish requests written ahead into a socket pair, turns each
into an API Gateway event, hands it to a handler that returns a fixed answer at once, and writes
the answer back; another thread drains the answers. The figure is the handler thread's own CPU
(`time.thread_time`) per request: the request line and header section read, the event built,
the answer written (its `send` system call included). The least of `--rounds` rounds is given
(interference only adds CPU).

Run: `.venv/bin/python -m benchmarks.dev_gateway_front_end [--requests 3000] [--rounds 3]`
(`make bench`: 2,000 requests, 3 rounds, about 2 s).
"""

from __future__ import annotations

import argparse
import socket
import threading
import time
from typing import Any

from ferry.dev import gateway

# What the official SDKs send for a 1 KB publish, give or take a header.
REQUEST = (
    b"POST /v2/publish/http://127.0.0.1:9/hook HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n"
    b"User-Agent: qstash-py/2\r\nAccept-Encoding: gzip, deflate\r\nAccept: */*\r\n"
    b"Connection: keep-alive\r\nAuthorization: Bearer abcdefabcdefabcdefabcdef\r\n"
    b"Content-Type: application/json\r\nUpstash-Retries: 3\r\nContent-Length: 1024\r\n\r\n" + b"x" * 1024
)
ANSWER = {"statusCode": 201, "headers": {"Content-Type": "application/json"}, "body": '{"messageId":"msg_1"}'}


class _FixedAnswer:
    def invoke(self, event: dict[str, Any]) -> dict[str, Any]:
        return ANSWER


def microseconds_per_request(requests: int) -> float:
    server_end, client_end = socket.socketpair()
    # (TCP_NODELAY does not apply to a Unix socket pair: the gateway's TCP socket sets it.)
    handler = type(
        "Handler", (gateway._RequestHandler,), {"gateway": _FixedAnswer(), "disable_nagle_algorithm": False}
    )

    def feed() -> None:
        for _ in range(requests):
            client_end.sendall(REQUEST)
        client_end.shutdown(socket.SHUT_WR)

    def drain() -> None:
        while client_end.recv(1 << 20):
            pass

    threads = [threading.Thread(target=work, daemon=True) for work in (feed, drain)]
    for thread in threads:
        thread.start()
    started = time.thread_time()
    handler(server_end, ("127.0.0.1", 1), None)  # serves the connection until the client's end
    spent = time.thread_time() - started
    server_end.close()  # the drain's end of the answers
    for thread in threads:
        thread.join()
    client_end.close()
    return 1e6 * spent / requests


def measure(requests: int = 3000, rounds: int = 3) -> float:
    return min(microseconds_per_request(requests) for _ in range(rounds))


def bench_rows(quick: bool = True) -> list[tuple[str, str]]:
    least = measure(requests=2000 if quick else 3000)
    return [("front end CPU per request (fixed answer, least of 3 rounds)", f"{least:.0f} µs")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    print(f"gateway front end: {measure(args.requests, args.rounds):.0f} µs CPU per request (least)")


if __name__ == "__main__":
    main()
