"""Entering the dashboard: the `ferry dev` link signs in once, otherwise the page asks for the API
token; the page's own files are public, every data call needs the token."""

from __future__ import annotations

import pytest

from tests.browser.conftest import watched_page

pytestmark = pytest.mark.integration

# Every API the page reads (ferry/dashboard/view-*.js).
DATA_ENDPOINTS = [
    "/v2/events",
    "/v2/dlq",
    "/v2/schedules",
    "/v2/topics",
    "/v2/messages/msg_x",
    "/v2/queues",
    "/v2/flowControl",
    "/v2/workflows/logs",
]


def test_the_dev_link_signs_in_once_and_leaves_no_code_in_the_address(context, console, stack):
    link = stack.dashboard_url()
    page = watched_page(context, console)
    page.goto(link)
    page.get_by_role("navigation", name="Views").wait_for()
    assert "login=" not in page.url
    assert page.evaluate("sessionStorage.getItem('ferry.token')") == stack.secrets.api_token
    assert page.evaluate("document.cookie") == ""

    second = watched_page(context, console)  # same link again, in a tab without a session
    second.goto(link)
    second.get_by_role("heading", name="Sign in").wait_for()
    assert "already used" in second.get_by_role("alert").inner_text()
    console.forgive_refusals()  # the refused exchange is a 401 the page reported in its alert


def test_without_a_token_the_page_asks_for_it_and_the_data_endpoints_answer_401(context, console, stack):
    page = watched_page(context, console)
    response = page.goto(stack.url + "/dashboard/")
    assert response is not None and response.status == 200
    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "default-src 'none'" in policy and "unsafe-inline" not in policy
    page.get_by_role("heading", name="Sign in").wait_for()

    statuses = page.evaluate(
        "paths => Promise.all(paths.map(p => fetch(p).then(r => r.status)))", DATA_ENDPOINTS
    )
    assert statuses == [401] * len(DATA_ENDPOINTS)
    console.forgive_refusals()  # Chromium logs each refused fetch as a console error; that is the point

    page.get_by_label("API token").fill(stack.secrets.api_token)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("link", name="Messages").wait_for()
    assert page.get_by_role("heading", name="Messages").is_visible()


def test_a_wrong_token_is_refused_and_the_page_asks_again(context, console, stack):
    page = watched_page(context, console)
    page.goto(stack.url + "/dashboard/")
    page.get_by_label("API token").fill("not-the-token")
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="Sign in").wait_for()
    assert "401" in page.get_by_role("alert").inner_text()
    assert page.evaluate("sessionStorage.getItem('ferry.token')") is None
    console.forgive_refusals()
