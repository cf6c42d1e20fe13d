"""The handlers load the X-Ray SDK only when AWS-call tracing is switched on (cold start)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PROBE = (
    "import sys, ferry.handlers as h\n"
    "print('aws_xray_sdk' in sys.modules, hasattr(h.api_handler, '__wrapped__'))\n"
)


def _probe(**env: str) -> str:
    clean = {k: v for k, v in os.environ.items() if k != "FERRY_TRACE_AWS_CALLS"}
    out = subprocess.run(
        [sys.executable, "-c", PROBE],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        env={**clean, **env},
    )
    return out.stdout.strip()


def test_importing_the_handlers_does_not_load_the_xray_sdk_by_default():
    assert _probe().startswith("False")


def test_trace_aws_calls_wraps_the_handlers_in_a_powertools_tracer():
    assert _probe(FERRY_TRACE_AWS_CALLS="true").startswith("True")


def test_importing_the_handlers_loads_no_ferry_use_case_or_boto3():
    code = (
        "import sys, ferry.handlers\n"
        "print(sorted(m for m in sys.modules if m.startswith(('ferry.usecases', 'ferry.api', 'boto3'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == "[]"
