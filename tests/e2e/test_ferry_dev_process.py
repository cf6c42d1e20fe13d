"""`ferry dev` as a user runs it: the installed command in its own process, a publish with plain
HTTP, a signature checked with the official receiver, a stop within 5 s on SIGINT and SIGTERM
(also with a delivery in flight, 20 times in a row), and nothing but its gateway listening."""

from __future__ import annotations

import os
import pathlib
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from qstash import Receiver

from ferry.dev.emulator import free_port
from tests.support.target import Target

pytestmark = pytest.mark.integration
FERRY = pathlib.Path(sys.executable).parent / "ferry"
STOP_WITHIN_SECONDS = 5
# `make test-dev-stop` runs the loop 20 times in a run of its own; the suite runs it twice.
STOP_LOOPS = int(os.environ.get("FERRY_DEV_STOP_LOOPS", "2"))


def start_ferry_dev(port: int) -> tuple[subprocess.Popen, dict[str, str]]:
    process = subprocess.Popen(
        [str(FERRY), "dev", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1", "FERRY_DEV_CPU": "auto"},  # as a user runs it
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


def publish(env: dict[str, str], url: str, body: bytes = b'{"hello": "world"}') -> None:
    request = urllib.request.Request(
        f"{env['QSTASH_URL']}/v2/publish/{url}",
        data=body,
        headers={"Authorization": f"Bearer {env['QSTASH_TOKEN']}", "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200


def stop_and_time(process: subprocess.Popen, stop_signal: int) -> tuple[int, float]:
    """Send `stop_signal`; the exit code and how long the process took to end."""
    started = time.monotonic()
    process.send_signal(stop_signal)
    try:
        code = process.wait(timeout=30)
    finally:
        process.kill()  # only if it outlived the wait: then the assertion below fails
    return code, time.monotonic() - started


def listening_ports(pid: int) -> set[int]:
    """TCP ports the process listens on: its socket inodes matched with /proc/net/tcp{,6}."""
    inodes = set()
    for fd in pathlib.Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[len("socket:[") : -1])
    ports = set()
    for table in ("tcp", "tcp6"):
        for line in pathlib.Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]:
            fields = line.split()
            local, state, inode = fields[1], fields[3], fields[9]
            if state == "0A" and inode in inodes:  # 0A: LISTEN
                ports.add(int(local.rsplit(":", 1)[1], 16))
    return ports


@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM], ids=["sigint", "sigterm"])
def test_ferry_dev_delivers_a_curl_style_publish_and_stops_cleanly(stop_signal):
    target = Target()
    port = free_port()
    process, env = start_ferry_dev(port)
    try:
        assert env["QSTASH_URL"] == f"http://127.0.0.1:{port}"
        publish(env, target.url("/hook"))
        [got] = target.wait_for("/hook", timeout=10)
        Receiver(env["QSTASH_CURRENT_SIGNING_KEY"], env["QSTASH_NEXT_SIGNING_KEY"]).verify(
            signature=got.header("Upstash-Signature"), body=got.body.decode(), url=target.url("/hook")
        )
    finally:
        code, took = stop_and_time(process, stop_signal)
        target.stop()
    assert code == 0
    assert took < STOP_WITHIN_SECONDS


@pytest.mark.skipif(
    not hasattr(os, "sched_getaffinity") or len(os.sched_getaffinity(0)) < 2,
    reason="CPU affinity is Linux's, and this process may use one CPU only",
)
def test_ferry_dev_runs_every_thread_on_the_one_cpu_its_banner_names():
    process, _ = start_ferry_dev(free_port())
    try:
        assert process.stdout is not None
        banner = [process.stdout.readline() for _ in range(2)]  # Dashboard:, then CPU:
        [cpu] = [line.split()[1] for line in banner if line.startswith("CPU: ")]
        allowed = {
            re.search(r"^Cpus_allowed_list:\s*(\S+)$", status.read_text(), re.M).group(1)
            for status in pathlib.Path(f"/proc/{process.pid}/task").glob("*/status")
        }
        assert allowed == {cpu}
    finally:
        stop_and_time(process, signal.SIGTERM)


def test_ferry_dev_refuses_a_cpu_it_may_not_run_on_and_says_which_it_may():
    result = subprocess.run(
        [str(FERRY), "dev", "--port", str(free_port()), "--cpu", "4096"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert "cannot pin to CPU 4096" in result.stderr and "try --cpu auto" in result.stderr


def test_ferry_dev_listens_on_its_gateway_port_and_nothing_else():
    port = free_port()
    process, _ = start_ferry_dev(port)
    try:
        assert listening_ports(process.pid) == {port}, "an emulator port would hand out state and secrets"
    finally:
        stop_and_time(process, signal.SIGTERM)


class SlowDestination:
    """Answers every request after 30 s, and notes each path as soon as the request arrives."""

    def __init__(self) -> None:
        self.arrived: set[str] = set()
        self._arrival = threading.Condition()
        destination = self

        class _Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                with destination._arrival:
                    destination.arrived.add(self.path)
                    destination._arrival.notify_all()
                time.sleep(30)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}{path}"

    def wait_for_arrival(self, path: str, timeout: float = 15) -> None:
        with self._arrival:
            assert self._arrival.wait_for(lambda: path in self.arrived, timeout), f"{path} never arrived"

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def one_start_publish_stop(run: int, destination: SlowDestination) -> tuple[int, int, float, str]:
    """Start, publish to the slow destination, stop (SIGINT or SIGTERM) while it is in flight."""
    process, env = start_ferry_dev(free_port())
    try:
        publish(env, destination.url(f"/slow-{run}"))
        destination.wait_for_arrival(f"/slow-{run}")
    finally:
        code, took = stop_and_time(process, signal.SIGINT if run % 2 else signal.SIGTERM)
    rest = process.stdout.read() if process.stdout else ""
    return process.pid, code, took, rest


def test_ferry_dev_stops_within_5_seconds_every_time_with_a_delivery_in_flight():
    destination = SlowDestination()
    try:
        # Two at a time: under load is when a lost signal or a blocking stop would show.
        with ThreadPoolExecutor(max_workers=2) as pool:
            results = list(pool.map(lambda run: one_start_publish_stop(run, destination), range(STOP_LOOPS)))
    finally:
        destination.stop()
    for pid, code, took, rest in results:
        assert code == 0, rest
        assert took < STOP_WITHIN_SECONDS, f"took {took:.1f}s to stop: {rest}"
        assert "Traceback" not in rest, rest
        assert not pathlib.Path(f"/proc/{pid}").exists(), f"ferry dev {pid} outlived its stop"
