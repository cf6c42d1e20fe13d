"""Accessibility of the main views: axe-core (package.json devDependency, injected into the page)
finds no serious or critical violation, and everything works from the keyboard alone."""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import AXE, watched_page
from tests.support.target import Reply
from tests.support.waiting import wait_until

pytestmark = pytest.mark.integration

VIEWS = [
    "Messages",
    "Dead letter queue",
    "Schedules",
    "Queues",
    "URL groups",
    "Workflow runs",
    "Send a message",
]
BLOCKING = {"serious", "critical"}


def axe_violations(page) -> list[dict]:
    page.evaluate(AXE.read_text(encoding="utf-8"))
    result = page.evaluate(
        "() => axe.run(document, {runOnly: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']})"
    )
    return [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]][:5]}
        for v in result["violations"]
    ]


@pytest.fixture
def seeded(api, target, path):
    """Something in each list, so axe checks rows and buttons, not just empty states."""
    target.always(path + "-dead", Reply(status=500))
    for suffix, retries in (("", "3"), ("-dead", "0")):
        status, _ = api(
            "POST",
            f"/v2/publish/{target.url(path + suffix)}",
            b"{}",
            {"Upstash-Retries": retries, "Upstash-Label": "a11y"},
        )
        assert status == 200
    status, body = api("POST", f"/v2/schedules/{target.url(path)}", b"", {"Upstash-Cron": "0 0 1 1 *"})
    assert status == 200
    endpoints = json.dumps({"endpoints": [{"url": target.url(path)}]}).encode()
    assert (
        api("POST", "/v2/topics/a11y-group/endpoints", endpoints, {"Content-Type": "application/json"})[0]
        == 200
    )
    wait_until(lambda: json.loads(api("GET", "/v2/dlq")[1])["messages"], what="a dead letter")
    yield
    api("DELETE", f"/v2/schedules/{json.loads(body)['scheduleId']}")


def test_the_main_views_have_no_serious_accessibility_violations(browser, console, stack, seeded):
    # axe is injected by script evaluation; the page's own CSP is checked in test_dashboard_sign_in.
    context = browser.new_context(bypass_csp=True)
    try:
        page = watched_page(context, console)
        page.goto(stack.dashboard_url())
        page.get_by_role("navigation", name="Views").wait_for()
        found = {}
        for name in VIEWS:
            page.get_by_role("link", name=name, exact=True).click()
            expect(page.get_by_role("heading", level=2, name=name, exact=True)).to_be_visible()
            page.wait_for_load_state("networkidle")
            found[name] = axe_violations(page)
        page.get_by_role("link", name="Messages", exact=True).click()
        page.locator("tr[data-message-id] a").first.click()
        page.get_by_role("list", name="Timeline").wait_for()
        found["Message timeline"] = axe_violations(page)
        signed_out = watched_page(context, console)
        signed_out.goto(stack.url + "/dashboard/")
        signed_out.get_by_role("heading", name="Sign in").wait_for()
        found["Sign in"] = axe_violations(signed_out)
    finally:
        context.close()
    blocking = {view: [v for v in vs if v["impact"] in BLOCKING] for view, vs in found.items()}
    assert not any(blocking.values()), json.dumps(blocking, indent=1)


def focused(page) -> str:
    return page.evaluate("document.activeElement.textContent.trim()")


def test_every_view_is_reached_and_used_with_the_keyboard_alone(page, api, target, path):
    page.keyboard.press("Tab")
    assert focused(page) == "Skip to content"
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none", "the focused control must show where the focus is"
    reached = []
    for _ in range(12):
        page.keyboard.press("Tab")
        reached.append(focused(page))
    assert [name for name in reached if name in VIEWS] == VIEWS, reached

    # Open the dead letter queue and retry an entry without the mouse.
    target.script(path, Reply(status=500))
    status, answer = api("POST", f"/v2/publish/{target.url(path)}", b"{}", {"Upstash-Retries": "0"})
    assert status == 200, answer
    message_id = json.loads(answer)["messageId"]
    wait_until(
        lambda: any(m["messageId"] == message_id for m in json.loads(api("GET", "/v2/dlq")[1])["messages"]),
        what="the dead letter",
    )
    page.get_by_role("link", name="Dead letter queue").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=2, name="Dead letter queue")).to_be_visible()
    retry = page.locator(f'tr:has(a:text("{message_id}"))').get_by_role("button", name="Retry")
    expect(retry).to_be_visible()
    for _ in range(60):  # Tab until the Retry of that entry has the focus
        if retry.evaluate("button => button === document.activeElement"):
            break
        page.keyboard.press("Tab")
    else:
        pytest.fail("Tab never reached the entry's Retry button")
    page.keyboard.press("Enter")
    assert len(target.wait_for(path, 2)) == 2
