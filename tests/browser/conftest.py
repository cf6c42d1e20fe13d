"""Browser fixtures: one `ferry dev` stack and one real headless Chromium (Debian's package, driven
by playwright; nothing is downloaded) for the whole browser package, a fresh context per test.

Every page records console errors and uncaught exceptions; a test fails if any appear.
"""

from __future__ import annotations

import os
import pathlib
import re
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest

from ferry.dev.stack import DevStack
from tests.support.target import Target

CHROMIUM = os.environ.get("FERRY_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ROOT = pathlib.Path(__file__).resolve().parents[2]
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if pathlib.Path(CHROMIUM).exists():
        return
    if os.environ.get("FERRY_REQUIRE_BROWSER"):
        raise pytest.UsageError(f"{CHROMIUM} is missing: apt-get install chromium (.ci/run does)")
    skip = pytest.mark.skip(reason=f"no Chromium at {CHROMIUM}: apt-get install chromium")
    for item in items:
        if "tests/browser/" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(skip)


# Package scope: this stack stops before the integration package starts its own (one emulator
# and one set of process-wide services at a time).
@pytest.fixture(scope="package")
def stack() -> Iterator[DevStack]:
    from ferry import wiring

    environ = dict(os.environ)
    dev = DevStack(port=0, poller_concurrency=2).start()
    try:
        yield dev
    finally:
        dev.stop()
        # DevStack points the process at its emulator (AWS_ENDPOINT_URL, ...); later packages
        # must not inherit a stopped one.
        os.environ.clear()
        os.environ.update(environ)
        wiring.reset_services()


@pytest.fixture(scope="package")
def target() -> Iterator[Target]:
    server = Target()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="package")
def api(stack: DevStack):
    """A plain HTTP client of the stack's API, with the token (for arranging and checking)."""

    def call(method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None):
        request = urllib.request.Request(
            stack.url + path,
            data=body,
            method=method,
            headers={"Authorization": f"Bearer {stack.secrets.api_token}", **(headers or {})},
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as error:
            return error.code, error.read()

    return call


# One browser for all the browser tests. Package scope, not session: playwright's sync API keeps
# an asyncio loop running in this thread while it is open, and later tests call asyncio.run().
@pytest.fixture(scope="package")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


class ConsoleErrors:
    def __init__(self) -> None:
        self.errors: list[str] = []

    def console(self, message) -> None:
        if message.type != "error":
            return
        location = message.location.get("url", "") if message.location else ""
        self.errors.append(f"console: {message.text} ({location})")

    def forgive_refusals(self) -> None:
        """Drop the errors Chromium logs for requests the test made the API refuse (401)."""
        self.errors = [e for e in self.errors if "status of 401" not in e]

    def page_error(self, error) -> None:
        self.errors.append(f"uncaught: {error}")


@pytest.fixture
def console() -> ConsoleErrors:
    return ConsoleErrors()


@pytest.fixture
def context(browser, console: ConsoleErrors):
    context = browser.new_context(viewport={"width": 1280, "height": 860})
    context.set_default_timeout(10_000)
    try:
        yield context
    finally:
        context.close()
    assert not console.errors, "the dashboard logged errors:\n" + "\n".join(console.errors)


def watched_page(context, console: ConsoleErrors):
    page = context.new_page()
    page.on("console", console.console)
    page.on("pageerror", console.page_error)
    return page


@pytest.fixture
def page(context, console: ConsoleErrors, stack: DevStack):
    """The dashboard, opened by the link `ferry dev` prints (signed in by its one-time code)."""
    page = watched_page(context, console)
    page.goto(stack.dashboard_url())
    page.get_by_role("navigation", name="Views").wait_for()
    return page


@pytest.fixture
def path(request: pytest.FixtureRequest) -> str:
    """A destination path unique to the test."""
    return "/" + re.sub(r"[^A-Za-z0-9_-]+", "-", request.node.name).strip("-")


def screenshot(page, name: str) -> None:
    """docs/dashboard/<name>.png, only when FERRY_SCREENSHOTS=1 (CI does not churn the files)."""
    if os.environ.get("FERRY_SCREENSHOTS") == "1":
        folder = ROOT / "docs" / "dashboard"
        folder.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(folder / f"{name}.png"))
