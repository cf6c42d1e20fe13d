"""`make bench`: every benchmark in its short mode, then ONE table of the figures docs/benchmarks.md
records (about 3 minutes on 2 cores, within the 5 the performance issue allows).

Benchmarks owned elsewhere join the table when they exist: any `benchmarks/dev_*.py` (ferry dev
throughput, head-of-line blocking) and `benchmarks/workflow_cost.py`. Such a module may offer
`bench_rows(quick: bool) -> list[tuple[str, str]]` (metric, value); otherwise it is run as
`python -m benchmarks.<name> --quick` and its output lines are shown.

Run: `make bench` (or `.venv/bin/python -m benchmarks.report`).
"""

from __future__ import annotations

import importlib
import platform
import subprocess
import sys
import time
from pathlib import Path

from benchmarks import cold_start, cost_model, dispatcher_duration, layer_size, requests_per_message
from benchmarks.dev_throughput import calibration_loop_ms
from ferry.config import DEFAULT_CONFIG

HERE = Path(__file__).resolve().parent
Row = tuple[str, str, str]  # metric, value, goal


def _optional_modules() -> list[str]:
    names = sorted(p.stem for p in HERE.glob("dev_*.py"))
    if (HERE / "workflow_cost.py").exists():
        names.append("workflow_cost")
    return names


def _optional_rows(name: str) -> list[Row]:
    module = importlib.import_module(f"benchmarks.{name}")
    if hasattr(module, "bench_rows"):
        return [(f"{name}: {metric}", value, "") for metric, value in module.bench_rows(quick=True)]
    out = subprocess.run(
        [sys.executable, "-m", f"benchmarks.{name}", "--quick"], capture_output=True, text=True, check=False
    )
    lines = [line for line in out.stdout.splitlines() if line.strip()][-8:]
    if out.returncode != 0:
        lines.append(f"(exit {out.returncode}: {out.stderr.strip().splitlines()[-1:]})")
    return [(f"{name}", line.strip(), "") for line in lines]


def main() -> None:
    started = time.monotonic()
    loop_at_start = calibration_loop_ms()
    rows: list[Row] = []
    settings = DEFAULT_CONFIG.dispatcher

    runs, ops = requests_per_message.measure(n=20)
    dispatch = dispatcher_duration.measure(((10, 10), (settings.batch_size, settings.concurrency)), batches=2)
    default = dispatch[-1]
    for run in runs:
        b = cost_model.bill(run, default)
        label = f"[{run.level}] {run.scenario}, {run.body}"
        rows.append((f"{label}: AWS requests / message", f"{run.aws_requests:.2f}", ""))
        rows.append(
            (
                f"{label}: DynamoDB WRU / RRU / strong reads",
                f"{run.wru:.2f} / {run.rru:.2f} / {run.strong_reads:.2f}",
                "≤ 2 / - / 0" if run.scenario.startswith("delivered") else "",
            )
        )
        rows.append(
            (
                f"{label}: SQS receive + delete / message",
                f"{run.receive_and_delete:.2f}",
                "≤ 0.2",
            )
        )
        rows.append(
            (
                f"{label}: $ per million, all-in",
                f"${b.total:.2f} (at 256 MB's CPU share: ${b.total_at_256_mb_cpu_share:.2f})",
                f"≤ ${cost_model.GOAL_PER_MILLION:.2f}",
            )
        )
    for level, found in ops.items():
        broken = [op.name for op in found if not op.works]
        rows.append(
            (
                f"[{level}] GET pending, its logs, cancel, logs page",
                "work" if not broken else f"BROKEN: {broken}",
                "work",
            )
        )
    goal_ms = dispatcher_duration.ENDPOINT_SECONDS * 1000 * dispatcher_duration.GOAL_FRACTION
    for r in dispatch:
        rows.append(
            (
                f"dispatcher, batch {r.batch} x {r.concurrency} at once, 300 ms endpoint: billed / message",
                f"{r.billed_ms_per_message:.1f} ms / {r.gb_s_per_message:.5f} (256 MB CPU share: "
                f"{r.estimated_ms_per_message_at_256_mb:.1f} ms)",
                f"≤ {goal_ms:.0f} ms",
            )
        )
    for name, figures in cold_start.measure(runs=5, runs_without_bytecode=2).items():
        rows.append(
            (
                f"cold start, {name}: import handler (fresh interpreter)",
                f"{figures['import_ms']:.0f} ms",
                "≤ 150 ms",
            )
        )
        rows.append((f"cold start, {name}: first invocation", f"{figures['first_call_ms']:.0f} ms", ""))
        rows.append(
            (
                f"cold start, {name}: import without byte code / with FERRY_TRACE_AWS_CALLS=true",
                f"{figures['import_no_bytecode_ms']:.0f} ms / {figures['import_traced_ms']:.0f} ms",
                "",
            )
        )
    layer = layer_size.measure()
    rows.append(
        (
            "Lambda layer, zipped (unzipped)",
            f"{layer['zipped_mb']:.1f} MB ({layer['unzipped_mb']:.1f} MB), byte code "
            f"{'included' if layer['bytecode'] else 'missing'}",
            "≤ 10 MB",
        )
    )
    for name in _optional_modules():
        rows.extend(_optional_rows(name))
    if not any(name.startswith("dev_") for name in _optional_modules()):
        rows.append(("ferry dev publish / deliver rates vs raw emulator", "(no benchmarks/dev_*.py yet)", ""))

    rows.append(
        (
            "machine speed at the start / end (calibration loop: 2 million additions in Python)",
            f"{loop_at_start:.0f} / {calibration_loop_ms():.0f} ms",
            "",
        )
    )
    width = max(len(r[0]) for r in rows)
    value_width = max(len(r[1]) for r in rows)
    print(
        f"\nFerry benchmarks, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
        f"Python {platform.python_version()}, {platform.machine()}, "
        f"took {time.monotonic() - started:.0f} s"
    )
    print(f"{'metric':{width}s}  {'value':{value_width}s}  goal")
    print(f"{'-' * width}  {'-' * value_width}  ----")
    for metric, value, goal in rows:
        print(f"{metric:{width}s}  {value:{value_width}s}  {goal}")


if __name__ == "__main__":
    main()
