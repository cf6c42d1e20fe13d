"""Keeping `ferry dev` on one CPU (Linux).

`ferry dev` is one Python process: its gateway, API instances, pollers, deliveries and emulator
are threads that take turns holding the GIL, so together they use about one core. Left to the
scheduler, a thread woken to take the GIL often runs on the other core, and every hand-over
then starts on cold caches: on the 2-core development machine the same load cost 12-14 ms of CPU
per message unpinned and 9.5-11.5 ms with every thread of the process on one CPU
(docs/benchmarks.md, 2026-12-07 16:15). The other cores stay free for the user's app and
destinations, which the scheduler moves away from the busy one.

`auto` picks the idlest of the CPUs the process may use (over 100 ms of /proc/stat, roughly) and
pins every thread of the process to it; threads started later inherit it from their creator.
`off` leaves scheduling alone; a number pins to that CPU. Where the process may use one CPU
only, or the platform has no `sched_setaffinity` (macOS, Windows), `auto` does nothing.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Literal

CpuChoice = int | Literal["auto", "off"]
# Long enough to see which CPU other processes keep busy (10 ticks at 100 per second: the
# choice is coarse, and a tie goes to the highest number), short enough not to slow start-up.
SAMPLE_SECONDS = 0.1


class CpuChoiceRefused(ValueError):
    """A CPU that this process may not run on, or pinning where the platform cannot pin."""


@dataclass(frozen=True)
class CpuTimes:
    """One CPU's counters from /proc/stat, in clock ticks since boot."""

    idle: int
    total: int


def parse_proc_stat(text: str) -> dict[int, CpuTimes]:
    """Per-CPU idle and total ticks from the text of /proc/stat (its `cpuN` lines)."""
    times: dict[int, CpuTimes] = {}
    for line in text.splitlines():
        name, _, rest = line.partition(" ")
        if not name.startswith("cpu") or not name[3:].isdigit():
            continue  # the aggregate `cpu` line, interrupts, context switches...
        ticks = [int(field) for field in rest.split()]
        # user nice system idle iowait irq softirq steal [guest guest_nice: already in user/nice]
        idle = ticks[3] + (ticks[4] if len(ticks) > 4 else 0)
        times[int(name[3:])] = CpuTimes(idle=idle, total=sum(ticks[:8]))
    return times


def idlest_cpu(before: dict[int, CpuTimes], after: dict[int, CpuTimes], allowed: set[int]) -> int:
    """The allowed CPU with the largest idle share between two samples; on a tie the highest
    numbered (CPU 0 takes more of the machine's interrupts on many systems)."""

    def idle_share(cpu: int) -> float:
        first, second = before.get(cpu), after.get(cpu)
        if first is None or second is None or second.total <= first.total:
            return 0.0
        # Per-CPU iowait can go down between two readings (proc(5)).
        return max(0, second.idle - first.idle) / (second.total - first.total)

    return max(sorted(allowed), key=lambda cpu: (idle_share(cpu), cpu))


def _read_proc_stat() -> dict[int, CpuTimes]:
    with open("/proc/stat", encoding="ascii") as stat:
        return parse_proc_stat(stat.read())


def _threads() -> list[int]:
    try:
        return [int(task) for task in os.listdir("/proc/self/task")]
    except OSError:  # no procfs: the calling thread is all that can be reached
        return [0]


@dataclass
class PinnedCpu:
    """What `pin_process` changed: the CPU, and each thread's affinity before, for `release`."""

    cpu: int
    before: dict[int, set[int]]
    default: set[int]

    def release(self) -> None:
        """Every thread of the process back to its affinity before (threads started since: the
        process's affinity before). Best effort: a thread that ended or is not ours to move
        keeps what it has."""
        for thread in _every_thread():
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.sched_setaffinity(thread, self.before.get(thread, self.default))


def _every_thread() -> Iterator[int]:
    """Each thread of the process once, listing again until a listing shows none not yet
    given: a thread started by one not yet pinned (or released) is not missed."""
    given: set[int] = set()
    while fresh := [thread for thread in _threads() if thread not in given]:
        given.update(fresh)
        yield from fresh


def pin_process(
    choice: CpuChoice,
    *,
    read_stat: Callable[[], dict[int, CpuTimes]] = _read_proc_stat,
    sleep: Callable[[float], None] = time.sleep,
) -> PinnedCpu | None:
    """Pin every thread of this process to one CPU as `choice` says; None when nothing changed.
    If a thread cannot be pinned (a sandbox refusing `sched_setaffinity`, say), the threads
    already pinned are released: `auto` then does nothing, a CPU number is refused."""
    if choice == "off":
        return None
    if not hasattr(os, "sched_setaffinity"):
        if choice == "auto":
            return None
        raise CpuChoiceRefused(f"cannot pin to CPU {choice}: this platform has no CPU affinity")
    allowed = os.sched_getaffinity(0)
    if choice == "auto":
        if len(allowed) < 2:
            return None
        cpu = _idlest_now(allowed, read_stat, sleep)
    elif choice in allowed:
        cpu = choice
    else:
        raise CpuChoiceRefused(
            f"cannot pin to CPU {choice}: this process may run on CPUs {', '.join(map(str, sorted(allowed)))}"
        )
    pinned = PinnedCpu(cpu=cpu, before={}, default=set(allowed))
    # Threads found in later listings were started meanwhile by pinned ones and inherited the
    # pin: theirs to go back to is the process's affinity, not the pin.
    first = set(_threads())
    try:
        for thread in _every_thread():
            try:
                if thread in first:
                    pinned.before[thread] = os.sched_getaffinity(thread)
                os.sched_setaffinity(thread, {cpu})
            except ProcessLookupError:
                continue  # ended meanwhile
    except OSError as error:
        pinned.release()
        if choice == "auto":
            return None
        raise CpuChoiceRefused(f"cannot pin to CPU {cpu}: {error.strerror or error}") from None
    return pinned


def _idlest_now(
    allowed: set[int], read_stat: Callable[[], dict[int, CpuTimes]], sleep: Callable[[float], None]
) -> int:
    try:
        before = read_stat()
        sleep(SAMPLE_SECONDS)
        after = read_stat()
    except OSError:  # no /proc/stat: any allowed CPU does
        return max(allowed)
    if not allowed <= before.keys() & after.keys():
        # /proc/stat numbers other CPUs than the affinity mask (a container's lxcfs renumbers
        # them): the sample says nothing about ours.
        return max(allowed)
    return idlest_cpu(before, after, allowed)


def parse_cpu_choice(text: str) -> CpuChoice:
    """`auto`, `off`, or a CPU number (the CLI's `--cpu` and FERRY_DEV_CPU)."""
    value = text.strip().lower()
    if value in ("auto", "off"):
        return value  # type: ignore[return-value]
    if value.isascii() and value.isdecimal():
        return int(value)
    raise CpuChoiceRefused(f"--cpu (or FERRY_DEV_CPU) must be auto, off or a CPU number, not {text!r}")
