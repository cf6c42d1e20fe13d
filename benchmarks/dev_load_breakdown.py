"""Benchmark: where `ferry dev`'s CPU goes under load, by thread role, beside its AWS calls.

dev_throughput gives ferry dev's CPU per message under load and the raw replay's; this splits
ferry dev's side. The load of dev_throughput (16 client threads in a child process, a destination
answering 200) runs for `--seconds`, `--rounds` times; in each round, per message:
- each thread role's CPU (the threads' own CPU clocks: gateway connections, which run the
  gateway and the API handler; delivery workers; pollers; dispatcher invocations; the rest),
  and of it the CPU inside botocore's `_make_api_call`, by operation (parameter checks, the
  emulator's work, parsing the answer): the rest is ferry dev's own code and the libraries it
  calls, plus what waiting for the GIL and switching costs the thread;
- the context switches of each role (voluntary: the thread waited, for I/O, a lock or the GIL;
  involuntary: the scheduler took the CPU away), from /proc;
- of the delivery workers' other CPU, the HTTP target's `send` (the exchange with the
  destination: request written, answer read);
- the process's CPU, which the roles should add up to.

Run: `.venv/bin/python -m benchmarks.dev_load_breakdown [--seconds 8] [--rounds 2]` (about 15 s a
round; `make bench`: one round of 5 s). Results go to stdout; docs/benchmarks.md records them.
"""

from __future__ import annotations

import argparse
import re
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from benchmarks.client_load import ChildLoad
from benchmarks.dev_throughput import BODY
from benchmarks.thread_cpu import CallsCpu, ThreadCpu
from ferry.dev.stack import DevStack

ROLES = (
    ("process_request", "gateway connections (gateway, API handler)"),
    ("deliver", "delivery workers (dispatcher's records)"),
    ("dispatcher-", "dispatcher invocations (handler, deletes)"),
    ("poller-", "pollers (receives)"),
)


def role_of(thread_name: str) -> str:
    for marker, role in ROLES:
        if marker in thread_name:
            return role
    return "other threads"


def _switches(native_id: int | None) -> tuple[int, int]:
    """(voluntary, involuntary) context switches of a thread of this process so far."""
    path = "/proc/thread-self/status" if native_id is None else f"/proc/self/task/{native_id}/status"
    try:
        with open(path) as status:
            text = status.read()
    except OSError:
        return 0, 0
    found = dict(re.findall(r"^(\w*voluntary_ctxt_switches):\s+(\d+)", text, re.M))
    return int(found.get("voluntary_ctxt_switches", 0)), int(found.get("nonvoluntary_ctxt_switches", 0))


class Roles:
    """CPU seconds and context switches by role, over a window: threads alive at its start count
    from there, threads that end inside it at their end (a wrapper around `Thread.run`)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._started: dict[int, tuple[float, int, int]] = {}
        self.cpu: Counter[str] = Counter()
        self.voluntary: Counter[str] = Counter()
        self.involuntary: Counter[str] = Counter()

    def _add(self, name: str, ident: int, cpu: float, voluntary: int, involuntary: int) -> None:
        cpu0, voluntary0, involuntary0 = self._started.pop(ident, (0.0, 0, 0))
        role = role_of(name)
        self.cpu[role] += cpu - cpu0
        self.voluntary[role] += voluntary - voluntary0
        self.involuntary[role] += involuntary - involuntary0

    def ended(self, thread: threading.Thread) -> None:
        """Called by the ending thread itself."""
        voluntary, involuntary = _switches(None)
        with self._lock:
            self._add(thread.name, thread.ident or 0, time.thread_time(), voluntary, involuntary)

    def _alive(self) -> Iterator[tuple[threading.Thread, float, int, int]]:
        for thread in threading.enumerate():
            if thread.native_id is None:
                continue
            try:
                # The scheduler's run time of the thread, in ns: what its CPU clock reads, from
                # /proc, so a thread that ends meanwhile is only missing (its end counted it).
                with open(f"/proc/self/task/{thread.native_id}/schedstat") as schedstat:
                    cpu = int(schedstat.read().split()[0]) / 1e9
            except (OSError, ValueError, IndexError):
                continue
            yield (thread, cpu, *_switches(thread.native_id))

    def start(self) -> None:
        with self._lock:
            for counter in (self.cpu, self.voluntary, self.involuntary):
                counter.clear()
            self._started = {t.ident or 0: (cpu, v, i) for t, cpu, v, i in self._alive()}

    def stop(self) -> None:
        alive = list(self._alive())
        with self._lock:
            for thread, cpu, voluntary, involuntary in alive:
                self._add(thread.name, thread.ident or 0, cpu, voluntary, involuntary)


@contextmanager
def counting_thread_ends(roles: Roles) -> Iterator[None]:
    run = threading.Thread.run

    def counted(thread: threading.Thread) -> None:
        try:
            run(thread)
        finally:
            roles.ended(thread)

    threading.Thread.run = counted  # type: ignore[method-assign]
    try:
        yield
    finally:
        threading.Thread.run = run  # type: ignore[method-assign]


def role_and_operation(args: tuple[Any, ...]) -> tuple[str, str]:
    """An AWS call's key: the calling thread's role and the operation (`_make_api_call`'s first
    argument)."""
    return role_of(threading.current_thread().name), args[0]


@dataclass(frozen=True)
class Role:
    """One role's figures in a round, per message."""

    cpu_ms: float
    aws_ms: float
    voluntary: float
    involuntary: float
    calls: str  # its AWS calls by operation: CPU ms a message (calls a message)

    @property
    def other_ms(self) -> float:
        return self.cpu_ms - self.aws_ms


@dataclass(frozen=True)
class Round:
    publishes_per_second: float
    process_ms: float
    roles: dict[str, Role]
    send_ms: float

    def lines(self, index: int) -> list[str]:
        lines = [
            f"round {index}: {self.publishes_per_second:.1f} publishes/s; process CPU "
            f"{self.process_ms:.2f} ms a message, by role (ms a message; context switches):"
        ]
        for name, role in self.roles.items():
            lines.append(
                f"  {name:45s} {role.cpu_ms:6.2f}  AWS calls {role.aws_ms:5.2f}  other {role.other_ms:5.2f}  "
                f"switches {role.voluntary:5.1f} + {role.involuntary:4.1f}"
            )
            if role.calls:
                lines.append(f"      {role.calls}")
        lines.append(f"  {'all roles':45s} {sum(r.cpu_ms for r in self.roles.values()):6.2f}")
        lines.append(f"  of the delivery workers' other, the HTTP target's send {self.send_ms:.2f}")
        return lines


def _round(
    published: int, seconds: float, process: float, roles: Roles, calls: CallsCpu, send: float
) -> Round:
    n = max(1, published)
    cpu_by_call, count_by_call = calls.take_by_key()
    by_role: dict[str, Role] = {}
    for name, cpu in roles.cpu.most_common():
        inside = {op: spent for (role, op), spent in cpu_by_call.items() if role == name}
        by_role[name] = Role(
            cpu_ms=1000 * cpu / n,
            aws_ms=1000 * sum(inside.values()) / n,
            voluntary=roles.voluntary[name] / n,
            involuntary=roles.involuntary[name] / n,
            calls=", ".join(
                f"{op} {1000 * spent / n:.2f} ({count_by_call[(name, op)] / n:.2f} calls)"
                for op, spent in sorted(inside.items(), key=lambda kv: -kv[1])
            ),
        )
    return Round(published / seconds, 1000 * process / n, by_role, send / n)


def measure(seconds: float = 8.0, rounds: int = 2) -> list[Round]:
    from ferry.wiring import services

    done: list[Round] = []
    roles = Roles()
    with counting_thread_ends(roles), DevStack(port=0, cpu="auto") as stack:
        svc = services()
        # (The pollers may share a client with the API: CallsCpu measures each client once.)
        calls = CallsCpu(
            [svc.sqs, svc.dynamodb, svc.secretsmanager, *(p._sqs for p in stack.pollers)],
            key=role_and_operation,
        )
        send = ThreadCpu(svc.target, "send")
        load = ChildLoad(stack.url, stack.secrets.api_token)
        try:
            load.publish(20, BODY)
            load.delivered(20, timeout=60)
            for _ in range(rounds):
                load.clear()
                calls.take_by_key()
                send.take_ms()
                roles.start()
                process = time.process_time()
                published, _ = load.run(seconds, BODY)
                load.delivered(published, timeout=300)
                time.sleep(0.3)  # the last deletes
                process = time.process_time() - process
                roles.stop()
                done.append(_round(published, seconds, process, roles, calls, send.take_ms()))
        finally:
            load.close()
            calls.remove()
            send.remove()
    return done


GATEWAY = ROLES[0][1]
WORKERS = ROLES[1][1]


def bench_rows(quick: bool = True) -> list[tuple[str, str]]:
    """`make bench`'s rows: one round of 5 s."""
    [figures] = measure(seconds=5.0 if quick else 8.0, rounds=1)
    gateway, workers = figures.roles[GATEWAY], figures.roles[WORKERS]
    own = sum(role.other_ms for role in figures.roles.values())
    return [
        (
            "under load, CPU / message: process; of it other than AWS calls (own code, waiting, switching)",
            f"{figures.process_ms:.2f} ms; {own:.2f} ms at {figures.publishes_per_second:.1f} publishes/s",
        ),
        (
            "under load, other than AWS calls / message: gateway connections; delivery workers (the HTTP "
            "target's send)",
            f"{gateway.other_ms:.2f} ms; {workers.other_ms:.2f} ms ({figures.send_ms:.2f})",
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    for index, figures in enumerate(measure(args.seconds, args.rounds), start=1):
        print("\n".join(figures.lines(index)))


if __name__ == "__main__":
    main()
