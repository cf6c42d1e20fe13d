"""A `ferry dev` stack keeps every thread of its process on one CPU while it runs, if asked, and
hands each thread its affinity back when it stops. (Here, not in tests/integration: that package
keeps a stack running for its whole session, and only one emulator may run in a process.)"""

from __future__ import annotations

import os
import socket
import threading

import pytest

from ferry.dev.cpu_affinity import CpuChoiceRefused, CpuTimes, pin_process
from ferry.dev.emulator import Emulator, EmulatorAlreadyRunning
from ferry.dev.stack import DevStack

pytestmark = [
    pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="CPU affinity is Linux's"),
    pytest.mark.skipif(
        hasattr(os, "sched_getaffinity") and len(os.sched_getaffinity(0)) < 2,
        reason="this process may use one CPU only: nothing to pin",
    ),
]


@pytest.fixture(autouse=True)
def _no_other_stack():
    if Emulator._running is not None:
        pytest.skip("a stack of another package runs in this process (pytest given tests/integration first)")


def affinities() -> dict[int, set[int]]:
    """Every thread of this process and the CPUs it may run on."""
    found = {}
    for task in os.listdir("/proc/self/task"):
        try:
            found[int(task)] = os.sched_getaffinity(int(task))
        except ProcessLookupError:
            continue  # ended meanwhile
    return found


def assert_given_back(before: dict[int, set[int]], after: dict[int, set[int]], kept: int | None) -> None:
    """Each thread alive before and after has its affinity of before (threads of earlier tests
    may end meanwhile); `kept`, alive throughout, among them."""
    both = before.keys() & after.keys()
    assert kept in both
    assert {tid: after[tid] for tid in both} == {tid: before[tid] for tid in both}


def test_a_stack_on_cpu_auto_pins_every_thread_of_the_process_to_one_cpu_and_releases_them_at_stop():
    # A thread the process had before the stack (the CLI's have none; a host process may).
    done = threading.Event()
    earlier = threading.Thread(target=done.wait, daemon=True)
    earlier.start()
    before = affinities()
    try:
        run_a_pinned_stack(before)
        assert_given_back(before, affinities(), earlier.native_id)
    finally:
        done.set()


def run_a_pinned_stack(before: dict[int, set[int]]) -> None:
    with DevStack(port=0, cpu="auto") as stack:
        assert stack.pinned is not None
        running = affinities()
        assert len(running) > len(before)  # the stack's own threads (gateway, pollers...) are in
        assert set(map(frozenset, running.values())) == {frozenset({stack.pinned.cpu})}
        # A thread started while the stack runs inherits the pin from its creator.
        seen: list[set[int]] = []
        thread = threading.Thread(target=lambda: seen.append(os.sched_getaffinity(0)))
        thread.start()
        thread.join()
        assert seen == [{stack.pinned.cpu}]


def test_a_stack_on_a_cpu_number_pins_to_that_cpu():
    before = os.sched_getaffinity(0)
    cpu = min(before)
    with DevStack(port=0, poller_concurrency=0, cpu=cpu) as stack:
        assert stack.pinned is not None and stack.pinned.cpu == cpu
        assert set(map(frozenset, affinities().values())) == {frozenset({cpu})}
    assert os.sched_getaffinity(0) == before


def test_a_stack_that_fails_to_start_after_pinning_hands_the_cpus_back():
    before = os.sched_getaffinity(0)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        with pytest.raises(OSError):
            DevStack(port=taken.getsockname()[1], poller_concurrency=0, cpu="auto").start()
    assert os.sched_getaffinity(0) == before


@pytest.mark.parametrize("choice", ["auto", 0])
def test_a_thread_that_cannot_be_pinned_undoes_the_pin_auto_gives_up_and_a_number_is_refused(
    choice, monkeypatch
):
    # A sandbox refusing sched_setaffinity for one thread (here: any but the calling one).
    done = threading.Event()
    other = threading.Thread(target=done.wait, daemon=True)
    other.start()
    before = affinities()
    real = os.sched_setaffinity

    def refusing(thread: int, cpus: object) -> None:
        if thread == other.native_id and len(cpus) == 1:  # type: ignore[arg-type]
            raise PermissionError(1, "Operation not permitted")
        real(thread, cpus)

    monkeypatch.setattr(os, "sched_setaffinity", refusing)
    try:
        if choice == "auto":
            assert pin_process("auto") is None
        else:
            with pytest.raises(CpuChoiceRefused, match="Operation not permitted"):
                pin_process(choice)
        assert_given_back(before, affinities(), other.native_id)
    finally:
        done.set()


def test_a_stack_on_cpu_off_leaves_scheduling_alone():
    before = os.sched_getaffinity(0)
    with DevStack(port=0, poller_concurrency=0, cpu="off") as stack:
        assert stack.pinned is None
        assert os.sched_getaffinity(0) == before


def test_a_cpu_this_process_may_not_use_is_refused_and_the_stack_does_not_start():
    with pytest.raises(CpuChoiceRefused, match="may run on CPUs"):
        DevStack(port=0, poller_concurrency=0, cpu=max(os.sched_getaffinity(0)) + 1).start()
    assert Emulator._running is None
    assert len(os.sched_getaffinity(0)) >= 2


def test_a_stack_refused_beside_a_running_one_leaves_the_running_ones_pin():
    with DevStack(port=0, poller_concurrency=0, cpu="auto") as stack:
        assert stack.pinned is not None
        with pytest.raises(EmulatorAlreadyRunning):
            DevStack(port=0, poller_concurrency=0, cpu="auto").start()
        assert set(map(frozenset, affinities().values())) == {frozenset({stack.pinned.cpu})}


def test_auto_pins_to_the_cpu_the_sample_shows_idlest():
    cpu = min(os.sched_getaffinity(0))  # the lowest: not what a tie or a busy sample would give
    start, busy, idle = CpuTimes(idle=0, total=0), CpuTimes(idle=0, total=100), CpuTimes(idle=100, total=100)
    allowed = os.sched_getaffinity(0)
    samples = iter([dict.fromkeys(allowed, start), {n: idle if n == cpu else busy for n in allowed}])
    pinned = pin_process("auto", read_stat=lambda: next(samples), sleep=lambda _: None)
    try:
        assert pinned is not None and pinned.cpu == cpu
        assert os.sched_getaffinity(0) == {cpu}
    finally:
        if pinned is not None:
            pinned.release()
    assert len(os.sched_getaffinity(0)) >= 2


def test_auto_takes_the_highest_allowed_cpu_when_proc_stat_does_not_number_the_allowed_ones():
    # A container's lxcfs renumbers /proc/stat's CPUs from 0: the sample says nothing about ours.
    allowed = os.sched_getaffinity(0)
    lowest = min(allowed)
    samples = iter([{lowest: CpuTimes(idle=0, total=0)}, {lowest: CpuTimes(idle=100, total=100)}])
    pinned = pin_process("auto", read_stat=lambda: next(samples), sleep=lambda _: None)
    try:
        assert pinned is not None and pinned.cpu == max(allowed)
    finally:
        if pinned is not None:
            pinned.release()
    assert os.sched_getaffinity(0) == allowed
