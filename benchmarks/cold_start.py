"""Benchmark: cold-start import cost of the two Lambda handlers.

Runs `import` of each `functions/*/handler.py` module in a fresh interpreter, 10 times, and reports
the median wall time, plus the heaviest modules from `-X importtime`. Run:
`.venv/bin/python -m benchmarks.cold_start`.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time

HANDLERS = {"api": "functions/api", "dispatcher": "functions/dispatcher"}
RUNS = 10


def import_seconds(folder: str) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import handler"], cwd=folder, check=True)
    return time.perf_counter() - started


def heaviest(folder: str, top: int = 5) -> list[tuple[int, str]]:
    out = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import handler"],
        cwd=folder,
        capture_output=True,
        text=True,
    ).stderr
    rows = []
    for line in out.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        _, cumulative, name = (part.strip() for part in line[len("import time:") :].split("|"))
        if not name.startswith(" "):
            rows.append((int(cumulative), name.strip()))
    return sorted(rows, reverse=True)[:top]


def main() -> None:
    baseline = statistics.median(
        time.perf_counter() - t0
        for t0 in [time.perf_counter()]
        for _ in [subprocess.run([sys.executable, "-c", "pass"], check=True)]
    )
    print(f"bare interpreter start: {baseline * 1000:.0f} ms")
    for name, folder in HANDLERS.items():
        samples = [import_seconds(folder) for _ in range(RUNS)]
        median_ms = statistics.median(samples) * 1000
        print(f"{name}: import handler, median of {RUNS}: {median_ms:.0f} ms (incl. start)")
        for cumulative, module in heaviest(folder):
            print(f"    {module:50s} {cumulative / 1000:7.1f} ms")


if __name__ == "__main__":
    main()
