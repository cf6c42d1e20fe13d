"""Run the official qstash-py SDK's own test suite against `ferry dev`, with nothing leaving the machine.

    .venv/bin/python scripts/qstash_sdk_suite.py [--repo URL_OR_PATH] [--commit SHA] [--workdir DIR] [-k EXPR]

1. Fetches the suite (never committed here): `git clone` of upstash/qstash-py (or any clone or mirror
   given with --repo) checked out at the 3.4.0 release commit, and installs what the suite needs
   beyond Ferry's test extras (pytest-asyncio, python-dotenv) into the work directory.
2. Re-runs itself inside a new network namespace with loopback only (`unshare -n`, `ip link set lo
   up`; needs root), where it starts `ferry dev` and a stand-in for `https://mock.httpstatus.io/NNN`
   (answers status NNN with the body "NNN Reason", honours `?sleep=MS`) on ephemeral ports,
   rewrites the suite's mock.httpstatus.io destinations to the stand-in, and runs the suite twice:
   sync (`tests/`) and async (`tests/asyncio/`), without the LLM-provider tests (they need the
   internet) and `tests/test_receiver.py` (broken by PyJWT >= 2.10 on its own).
3. Prints passed/failed per half and the failing tests; exits 0 only when nothing failed.

The result as of the last run is in docs/compatibility.md ("The official SDK's own suite").
"""

from __future__ import annotations

import argparse
import http.server
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET
from pathlib import Path

REPO = "https://github.com/upstash/qstash-py.git"
# "chore: bump version to 3.4.0": the release commit (upstream tags stop at v3.0.0).
COMMIT = "75c133af53ac2aff79cf0325c9eead0cda74af7c"
SUITE_REQUIREMENTS = ("pytest-asyncio==0.23.8", "python-dotenv>=1.0.1")
MOCK = "https://mock.httpstatus.io/"
DESELECT = "not llm"
IGNORED = ("tests/test_receiver.py",)
FERRY_DEV_TOKEN = "ferry-dev-token"
PER_TEST_TIMEOUT = 180


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repo", default=REPO, help="qstash-py clone URL or local path (a mirror works)")
    parser.add_argument("--commit", default=COMMIT)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/ferry-qstash-suite"))
    parser.add_argument("-k", dest="keyword", default="", help="extra pytest -k expression (ANDed)")
    parser.add_argument("--inside", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.inside:
        return inside(args)
    fetch(args.repo, args.commit, args.workdir)
    command = ["unshare", "-n", "--", sys.executable, __file__, "--inside", "--workdir", str(args.workdir)]
    if args.keyword:
        command += ["-k", args.keyword]
    return subprocess.call(command)


# --- outside the namespace: fetch the suite and its test dependencies ------------------------------------


def fetch(repo: str, commit: str, workdir: Path) -> None:
    source = workdir / "src"
    if not (source / ".git").exists():
        shutil.rmtree(source, ignore_errors=True)
        source.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(["git", "clone", "--quiet", "--no-checkout", repo, str(source)], check=True)
    subprocess.run(["git", "-C", str(source), "checkout", "--quiet", "--force", commit], check=True)
    site = workdir / "site"
    if not site.exists():
        subprocess.run(
            [sys.executable, "-m", "pip", "install", "--quiet", "--target", str(site), *SUITE_REQUIREMENTS],
            check=True,
        )


# --- inside the namespace ------------------------------------------------------------------------------


class StatusStandIn(http.server.ThreadingHTTPServer):
    """Loopback stand-in for mock.httpstatus.io: `/NNN` answers status NNN, `?sleep=MS` waits first."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _StatusHandler)


class _StatusHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        url = urllib.parse.urlsplit(self.path)
        match = re.fullmatch(r"/([1-5][0-9][0-9])", url.path)
        status = int(match[1]) if match else 404
        sleep = urllib.parse.parse_qs(url.query).get("sleep", ["0"])[0]
        if sleep.isdigit():
            time.sleep(int(sleep) / 1000)
        reason = http.HTTPStatus(status).phrase if status in http.HTTPStatus._value2member_map_ else ""
        body = f"{status} {reason}".encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _answer

    def log_message(self, format: str, *args: object) -> None:
        pass


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def assert_loopback_only() -> None:
    """Nothing may leave the machine: the namespace has no route but loopback."""
    routes = subprocess.run(["ip", "route", "show"], capture_output=True, text=True, check=True).stdout
    links = subprocess.run(["ip", "-o", "link", "show"], capture_output=True, text=True, check=True).stdout
    names = [line.split(":")[1].strip() for line in links.splitlines()]
    if names != ["lo"] or routes.strip():
        raise SystemExit(f"not an isolated namespace: links {names}, routes {routes!r}")


def wait_for_ferry(url: str, process: subprocess.Popen[bytes], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    request = urllib.request.Request(
        url + "/v2/schedules", headers={"Authorization": f"Bearer {FERRY_DEV_TOKEN}"}
    )
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"ferry dev exited with {process.returncode}")
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise SystemExit("ferry dev did not answer in time")


def rewrite_suite(source: Path, run: Path, stand_in: str) -> None:
    """A copy of the suite whose mock.httpstatus.io destinations point at the stand-in."""
    shutil.rmtree(run, ignore_errors=True)
    shutil.copytree(source / "tests", run / "tests")
    shutil.copytree(source / "qstash", run / "qstash")
    for path in (run / "tests").rglob("*.py"):
        text = path.read_text()
        if MOCK in text:
            path.write_text(text.replace(MOCK, stand_in + "/"))


def run_half(
    name: str, run: Path, paths: list[str], env: dict[str, str], keyword: str
) -> tuple[int, int, list[str]]:
    report = run / f"{name}.xml"
    selection = DESELECT if not keyword else f"({DESELECT}) and ({keyword})"
    command = [
        sys.executable, "-m", "pytest", *paths, "-q", "-p", "no:cacheprovider", "-k", selection,
        "-o", f"timeout={PER_TEST_TIMEOUT}", f"--junitxml={report}", "--rootdir", str(run),
    ]  # fmt: skip
    command += [f"--ignore={ignored}" for ignored in IGNORED]
    print(f"\n=== {name}: {' '.join(command[3:])}", flush=True)
    subprocess.call(command, cwd=run, env=env)
    passed, failed = 0, []
    for case in ET.parse(report).getroot().iter("testcase"):
        test_id = f"{case.get('classname')}::{case.get('name')}"
        if case.find("failure") is not None or case.find("error") is not None:
            failed.append(test_id)
        elif case.find("skipped") is None:
            passed += 1
    return passed, len(failed), failed


def inside(args: argparse.Namespace) -> int:
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    assert_loopback_only()
    stand_in = StatusStandIn()
    threading.Thread(target=stand_in.serve_forever, daemon=True).start()
    stand_in_url = f"http://127.0.0.1:{stand_in.server_address[1]}"

    port = free_port()
    ferry_url = f"http://127.0.0.1:{port}"
    ferry = Path(sys.executable).parent / "ferry"
    log = open(args.workdir / "ferry-dev.log", "wb")  # noqa: SIM115 - open for the process's lifetime
    process = subprocess.Popen([str(ferry), "dev", "--port", str(port)], stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for_ferry(ferry_url, process)
        run = args.workdir / "run"
        rewrite_suite(args.workdir / "src", run, stand_in_url)
        from ferry.dev.resources import DevSecrets

        secrets = DevSecrets()
        env = {
            **os.environ,
            "QSTASH_URL": ferry_url,
            "QSTASH_TOKEN": secrets.api_token,
            "QSTASH_CURRENT_SIGNING_KEY": secrets.current_signing_key,
            "QSTASH_NEXT_SIGNING_KEY": secrets.next_signing_key,
            "PYTHONPATH": os.pathsep.join([str(run), str(args.workdir / "site")]),
        }
        results = {
            "sync": run_half("sync", run, ["tests", "--ignore=tests/asyncio"], env, args.keyword),
            "async": run_half("async", run, ["tests/asyncio"], env, args.keyword),
        }
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
        stand_in.shutdown()
    print("\n=== qstash-py 3.4.0 suite against ferry dev (LLM tests and test_receiver excluded)")
    total_failed = 0
    for name, (passed, failed, failures) in results.items():
        total_failed += failed
        print(f"{name}: {passed} passed, {failed} failed")
        for failure in failures:
            print(f"  FAILED {failure}")
    passed = sum(r[0] for r in results.values())
    print(f"total: {passed} passed, {total_failed} failed")
    return 1 if total_failed else 0


if __name__ == "__main__":
    sys.exit(main())
