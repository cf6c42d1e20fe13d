"""`ferry dev` as a user runs it: the installed command in its own process, a publish with plain
HTTP, a signature checked with the official receiver, and a clean stop on SIGINT and SIGTERM."""

from __future__ import annotations

import json
import os
import pathlib
import re
import signal
import subprocess
import sys
import time
import urllib.request

import pytest
from qstash import Receiver

from ferry.dev.emulator import free_port
from tests.support.target import Target

pytestmark = pytest.mark.integration
FERRY = pathlib.Path(sys.executable).parent / "ferry"


def start_ferry_dev(port: int) -> tuple[subprocess.Popen, dict[str, str]]:
    process = subprocess.Popen(
        [str(FERRY), "dev", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    printed: dict[str, str] = {}
    deadline = time.time() + 60
    assert process.stdout is not None
    while time.time() < deadline and len(printed) < 4:
        line = process.stdout.readline()
        if not line:
            break
        match = re.match(r"^(QSTASH_[A-Z_]+)=(.*)$", line.strip())
        if match:
            printed[match.group(1)] = match.group(2)
    assert len(printed) == 4, f"ferry dev printed {printed}"
    return process, printed


@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM], ids=["sigint", "sigterm"])
def test_ferry_dev_delivers_a_curl_style_publish_and_stops_cleanly(stop_signal):
    target = Target()
    port = free_port()
    process, env = start_ferry_dev(port)
    try:
        assert env["QSTASH_URL"] == f"http://127.0.0.1:{port}"
        request = urllib.request.Request(
            f"{env['QSTASH_URL']}/v2/publish/{target.url('/hook')}",
            data=json.dumps({"hello": "world"}).encode(),
            headers={"Authorization": f"Bearer {env['QSTASH_TOKEN']}", "Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 200
        [got] = target.wait_for("/hook", timeout=10)
        Receiver(env["QSTASH_CURRENT_SIGNING_KEY"], env["QSTASH_NEXT_SIGNING_KEY"]).verify(
            signature=got.header("Upstash-Signature"), body=got.body.decode(), url=target.url("/hook")
        )
    finally:
        process.send_signal(stop_signal)
        try:
            code = process.wait(timeout=30)
        finally:
            process.kill()
            target.stop()
    assert code == 0
