"""Benchmark: the CPU an idle `ferry dev` uses while messages wait for their delay.

Publishes N messages delayed by an hour through `/v2/batch` (beyond SQS's 15 minutes each is a
one-time Scheduler schedule, which the dev ticker reads every second), waits 2 s, then measures
the process's CPU over `--seconds` with nothing else to do: the share of one core.

    .venv/bin/python -m benchmarks.dev_idle [--messages 1000] [--seconds 5]

`make bench` takes its row from `bench_rows` (1,000 messages, 3 s).
"""

from __future__ import annotations

import argparse
import time


def measure(messages: int, seconds: float) -> float:
    from ferry.dev.stack import DevStack
    from tests.support.stack_api import api

    with DevStack(port=0) as stack:
        batch = [
            {"destination": "http://127.0.0.1:9/later", "headers": {"Upstash-Delay": "1h"}, "body": str(i)}
            for i in range(messages)
        ]
        for start in range(0, messages, 100):
            status, answer = api(stack, "POST", "/v2/batch", batch[start : start + 100])
            assert status == 200, answer
        time.sleep(2)
        cpu = time.process_time()
        time.sleep(seconds)
        return (time.process_time() - cpu) / seconds


def bench_rows(quick: bool = True) -> list[tuple[str, str]]:
    """`make bench`'s row."""
    share = measure(1000, 3.0 if quick else 5.0)
    return [("idle ferry dev, 1,000 delayed messages: CPU", f"{share:.2f} of a core")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()
    share = measure(args.messages, args.seconds)
    print(f"idle ferry dev, {args.messages} delayed messages: {share:.2f} of a core over {args.seconds:g} s")


if __name__ == "__main__":
    main()
