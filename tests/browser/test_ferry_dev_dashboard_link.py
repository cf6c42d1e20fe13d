"""`ferry dev` as a user runs it prints `Dashboard: <url>`, and that URL opens the dashboard signed
in for the local user."""

from __future__ import annotations

import re
import signal
import time

import pytest
from playwright.sync_api import expect

from ferry.dev.emulator import free_port
from tests.browser.conftest import watched_page
from tests.e2e.test_ferry_dev_process import start_ferry_dev

pytestmark = pytest.mark.integration


def test_the_dashboard_line_ferry_dev_prints_opens_the_dashboard_signed_in(context, console):
    port = free_port()
    process, _ = start_ferry_dev(port)  # it has read the QSTASH_* lines; the Dashboard line follows
    try:
        assert process.stdout is not None
        link = None
        deadline = time.time() + 60
        while link is None and time.time() < deadline:
            line = process.stdout.readline()
            if not line:
                break
            match = re.fullmatch(r"Dashboard: (\S+)", line.strip())
            link = match.group(1) if match else None
        assert link is not None, "ferry dev printed no `Dashboard: <url>` line"
        assert link.startswith(f"http://127.0.0.1:{port}/dashboard/#login=")

        page = watched_page(context, console)
        page.goto(link)
        expect(page.get_by_role("heading", level=2, name="Messages")).to_be_visible()
        assert page.evaluate("sessionStorage.getItem('ferry.token')")
        assert "#login=" not in page.url
        page.close()  # before the server goes: its polls would fail
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=30)
        finally:
            process.kill()
