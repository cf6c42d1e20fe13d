"""Integration fixtures: one `ferry dev` stack (moto server + the real handlers) per test session,
a real HTTP destination on 127.0.0.1, and the official qstash SDK as the client."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator

import pytest

from ferry.dev.stack import DevStack
from tests.support.clock import OffsetClock
from tests.support.js_app import ROOT, SERVER, JsApp
from tests.support.target import Target


@pytest.fixture(scope="session")
def clock() -> OffsetClock:
    return OffsetClock()


@pytest.fixture(scope="session")
def stack(clock: OffsetClock) -> Iterator[DevStack]:
    dev = DevStack(port=0, clock=clock).start()
    try:
        yield dev
    finally:
        dev.stop()


@pytest.fixture(scope="session")
def target() -> Iterator[Target]:
    server = Target()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def path(request: pytest.FixtureRequest) -> str:
    """A destination path unique to the test, so tests sharing the stack never see each other."""
    return "/" + re.sub(r"[^A-Za-z0-9_-]+", "-", request.node.name).strip("-")


@pytest.fixture(scope="session")
def qstash(stack: DevStack):
    from qstash import QStash

    return QStash(stack.secrets.api_token, base_url=stack.url, retry=False)


@pytest.fixture(scope="session")
def services(stack: DevStack):
    from ferry.wiring import services as current

    return current()


@pytest.fixture(scope="module")
def app(stack: DevStack):
    """A workflow app served on 127.0.0.1 by the unchanged Python SDK, verifying signatures with
    the SDK's Receiver (one per module: routes are per test path)."""
    from tests.integration.workflow_app import WorkflowApp

    server = WorkflowApp.for_stack(stack)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def js(stack: DevStack, target: Target) -> Iterator[JsApp]:
    """The JS SDK's workflow app (tests/integration/js/workflow_server.mjs), one per module."""
    if shutil.which("node") is None or not (ROOT / "node_modules" / "@upstash" / "workflow").exists():
        pytest.fail("node and `npm ci` (devDependency @upstash/workflow) are needed for the JS SDK tests")
    env = {**os.environ, **stack.client_env(), "THIRD_PARTY_URL": target.url("/js-third-party")}
    process = subprocess.Popen(
        ["node", str(SERVER)], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    try:
        port = json.loads(process.stdout.readline())["port"]
        yield JsApp(process, port)
    finally:
        process.terminate()
        process.wait(timeout=10)
