"""Which CPU `ferry dev --cpu auto` picks, from two samples of /proc/stat, and what --cpu takes."""

from __future__ import annotations

import pytest

from ferry.dev.cpu_affinity import CpuChoiceRefused, CpuTimes, idlest_cpu, parse_cpu_choice, parse_proc_stat

PROC_STAT = """cpu  1000 10 500 8000 100 0 20 0 0 0
cpu0 600 5 300 3000 50 0 10 0 0 0
cpu1 400 5 200 5000 50 0 10 0 0 0
intr 123456 0 0
ctxt 987654
btime 1796600000
processes 4242
"""


def test_proc_stat_gives_each_cpus_idle_and_iowait_ticks_against_its_total_and_skips_the_rest():
    assert parse_proc_stat(PROC_STAT) == {
        0: CpuTimes(idle=3050, total=3965),
        1: CpuTimes(idle=5050, total=5665),
    }


def test_guest_time_is_not_counted_twice_in_the_total():
    # guest and guest_nice are already inside user and nice (proc(5))
    assert parse_proc_stat("cpu3 100 0 0 100 0 0 0 0 60 40\n") == {3: CpuTimes(idle=100, total=200)}


def test_the_idlest_allowed_cpu_is_chosen_over_the_sample():
    before = {0: CpuTimes(idle=100, total=200), 1: CpuTimes(idle=100, total=200), 2: CpuTimes(0, 0)}
    after = {0: CpuTimes(idle=190, total=300), 1: CpuTimes(idle=120, total=300), 2: CpuTimes(100, 100)}
    assert idlest_cpu(before, after, allowed={0, 1, 2}) == 2
    assert idlest_cpu(before, after, allowed={0, 1}) == 0  # CPU 2 is not ours to take


def test_equally_idle_cpus_go_to_the_highest_numbered_and_a_cpu_missing_from_a_sample_counts_busy():
    same = {0: CpuTimes(idle=0, total=0), 1: CpuTimes(idle=0, total=0)}
    later = {0: CpuTimes(idle=50, total=100), 1: CpuTimes(idle=50, total=100)}
    assert idlest_cpu(same, later, allowed={0, 1}) == 1
    assert idlest_cpu(same, {0: CpuTimes(idle=10, total=100)}, allowed={0, 1}) == 0


def test_idle_ticks_that_went_down_between_samples_count_as_none():
    before = {0: CpuTimes(idle=500, total=1000), 1: CpuTimes(idle=100, total=1000)}
    after = {0: CpuTimes(idle=490, total=1100), 1: CpuTimes(idle=110, total=1100)}  # iowait fell on 0
    assert idlest_cpu(before, after, allowed={0, 1}) == 1


@pytest.mark.parametrize(("text", "choice"), [("auto", "auto"), ("OFF", "off"), (" 3 ", 3), ("0", 0)])
def test_cpu_choice_is_auto_off_or_a_cpu_number(text, choice):
    assert parse_cpu_choice(text) == choice


@pytest.mark.parametrize("text", ["", "-1", "one", "1,2", "0x1", "\u00b2", "\u0661"])
def test_any_other_cpu_choice_is_refused_naming_what_is_taken(text):
    with pytest.raises(CpuChoiceRefused, match="auto, off or a CPU number"):
        parse_cpu_choice(text)


@pytest.mark.parametrize(("environ", "choice"), [(None, "auto"), ("", "auto"), ("off", "off"), ("1", 1)])
def test_ferry_dev_cpu_defaults_to_auto_and_takes_FERRY_DEV_CPU(monkeypatch, environ, choice):
    from ferry.cli import build_parser

    if environ is None:
        monkeypatch.delenv("FERRY_DEV_CPU", raising=False)
    else:
        monkeypatch.setenv("FERRY_DEV_CPU", environ)
    assert build_parser().parse_args(["dev"]).cpu == choice
    assert build_parser().parse_args(["dev", "--cpu", "off"]).cpu == "off"  # the flag wins
