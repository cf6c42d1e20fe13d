"""The dashboard's views against `ferry dev` with real destinations on 127.0.0.1: what a developer
sees and does there is what the API says and does."""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import screenshot
from tests.support.target import Reply
from tests.support.waiting import wait_until

pytestmark = pytest.mark.integration

LIVE_SECONDS = 5  # the bound for a change to show up without a reload


def publish(api, url: str, body: str = "{}", **headers: str) -> str:
    sent = {"Content-Type": "application/json", **{k.replace("_", "-"): v for k, v in headers.items()}}
    status, answer = api("POST", f"/v2/publish/{url}", body.encode(), sent)
    assert status == 200, answer
    return json.loads(answer)["messageId"]


def open_view(page, name: str) -> None:
    page.get_by_role("link", name=name, exact=True).click()
    expect(page.get_by_role("heading", level=2, name=name, exact=True)).to_be_visible()


def test_a_new_message_appears_within_five_seconds_without_a_reload(page, api, target, path):
    page.evaluate("window.notReloaded = true")
    message_id = publish(api, target.url(path))
    row = page.locator(f'tr[data-message-id="{message_id}"]')
    expect(row).to_be_visible(timeout=LIVE_SECONDS * 1000)
    assert page.evaluate("window.notReloaded") is True
    screenshot(page, "messages")


def test_a_delivered_messages_timeline_shows_created_and_delivered(page, api, target, path):
    message_id = publish(api, target.url(path), Upstash_Label="checkout")
    target.wait_for(path)
    page.get_by_role("link", name=message_id).click()
    timeline = page.get_by_role("list", name="Timeline")
    expect(timeline.locator('[data-state="DELIVERED"]')).to_be_visible(timeout=LIVE_SECONDS * 1000)
    expect(timeline.locator('[data-state="CREATED"]')).to_be_visible()
    expect(timeline.locator('[data-state="DELIVERED"]')).to_contain_text("Response status: 200")
    screenshot(page, "message-timeline")


def test_messages_are_filtered_by_state_and_label(page, api, target, path):
    wanted = publish(api, target.url(path), Upstash_Label="wanted")
    other = publish(api, target.url(path))
    target.wait_for(path, 2)
    page.get_by_label("Label").fill("wanted")
    page.get_by_label("State").select_option("DELIVERED")
    page.get_by_role("button", name="Apply filters").click()
    expect(page.locator(f'tr[data-message-id="{wanted}"]')).to_be_visible(timeout=LIVE_SECONDS * 1000)
    expect(page.locator(f'tr[data-message-id="{other}"]')).to_have_count(0)


def dead_letter_of(api, message_id: str) -> dict | None:
    status, body = api("GET", "/v2/dlq?count=100")
    assert status == 200
    return next((m for m in json.loads(body)["messages"] if m["messageId"] == message_id), None)


def test_retry_on_a_dlq_entry_redelivers_it_to_its_destination(page, api, target, path):
    target.script(path, Reply(status=500, body=b"boom"))  # the first attempt fails, the retry succeeds
    message_id = publish(api, target.url(path), Upstash_Retries="0")
    entry = wait_until(lambda: dead_letter_of(api, message_id), what="the message in the DLQ")
    open_view(page, "Dead letter queue")
    row = page.locator(f'tr[data-dlq-id="{entry["dlqId"]}"]')
    expect(row).to_contain_text("500")
    expect(row).to_contain_text("boom")
    screenshot(page, "dead-letter-queue")
    row.get_by_role("button", name="Retry").click()
    redelivered = target.wait_for(path, 2)
    assert redelivered[-1].method == "POST"
    expect(row).to_have_count(0, timeout=LIVE_SECONDS * 1000)
    assert dead_letter_of(api, message_id) is None


def test_selected_dead_letters_are_deleted_together(page, api, target, path):
    target.always(path, Reply(status=500))
    ids = [publish(api, target.url(path), Upstash_Retries="0") for _ in range(2)]
    entries = [wait_until(lambda i=i: dead_letter_of(api, i), what="DLQ entry") for i in ids]
    open_view(page, "Dead letter queue")
    for entry in entries:
        page.get_by_label(f"Select {entry['dlqId']}").check()
    page.get_by_role("button", name="Delete selected").click()
    expect(page.get_by_role("status")).to_have_text("Deleted 2 entries")
    for entry in entries:
        expect(page.locator(f'tr[data-dlq-id="{entry["dlqId"]}"]')).to_have_count(0)
    assert all(dead_letter_of(api, i) is None for i in ids)


def test_pausing_a_schedule_shows_paused_through_the_api(page, api, target, path):
    status, body = api("POST", f"/v2/schedules/{target.url(path)}", b"{}", {"Upstash-Cron": "0 0 1 1 *"})
    assert status == 200, body
    schedule_id = json.loads(body)["scheduleId"]
    open_view(page, "Schedules")
    row = page.locator(f'tr[data-schedule-id="{schedule_id}"]')
    expect(row).to_contain_text("0 0 1 1 *")
    screenshot(page, "schedules")
    row.get_by_role("button", name="Pause").click()
    expect(row).to_contain_text("Paused")
    assert json.loads(api("GET", f"/v2/schedules/{schedule_id}")[1])["isPaused"] is True
    row.get_by_role("button", name="Resume").click()
    expect(row).to_contain_text("Active")
    assert json.loads(api("GET", f"/v2/schedules/{schedule_id}")[1])["isPaused"] is False
    api("DELETE", f"/v2/schedules/{schedule_id}")


def test_url_groups_list_their_endpoints(page, api, target, path):
    group = path.strip("/")[:40]
    first, second = target.url(path + "-1"), target.url(path + "-2")
    endpoints = {"endpoints": [{"name": "first", "url": first}, {"url": second}]}
    json_type = {"Content-Type": "application/json"}
    assert api("POST", f"/v2/topics/{group}/endpoints", json.dumps(endpoints).encode(), json_type)[0] == 200
    open_view(page, "URL groups")
    listed = page.get_by_role("list", name=f"Endpoints of {group}")
    expect(listed).to_contain_text("first: " + first)
    expect(listed).to_contain_text(second)
    screenshot(page, "url-groups")


def test_the_send_form_publishes_a_message_that_is_delivered(page, target, path):
    open_view(page, "Send a message")
    page.get_by_label("Destination URL or URL group").fill(target.url(path))
    page.get_by_label("Body").fill('{"from": "the dashboard"}')
    page.get_by_label("Label").fill("dashboard")
    screenshot(page, "send")
    page.get_by_role("button", name="Publish").click()
    expect(page.get_by_role("status")).to_have_text("Published 1 message")
    received = target.wait_for(path)[0]
    assert received.body == b'{"from": "the dashboard"}'
    assert received.header("Content-Type") == "application/json"


def test_queues_and_flow_control_keys_show_what_the_api_has(page, unserved_apis):
    open_view(page, "Queues")
    page.wait_for_load_state("networkidle")
    screenshot(page, "queues")
    for api_path in ("/v2/queues", "/v2/flowControl"):
        if api_path in unserved_apis:
            expect(page.get_by_text(f"This Ferry has no {api_path} API yet")).to_be_visible()
        else:
            expect(page.get_by_text(f"This Ferry has no {api_path} API yet")).to_have_count(0)


def test_cancelling_a_delayed_message_from_its_timeline_cancels_it(page, api, target, path):
    message_id = publish(api, target.url(path), Upstash_Delay="1h")
    page.get_by_role("link", name=message_id).click()
    page.get_by_role("button", name="Cancel message").click()
    expect(page.get_by_role("status")).to_have_text("Cancel requested")
    timeline = page.get_by_role("list", name="Timeline")
    expect(timeline.locator('[data-state^="CANCEL"]').first).to_be_visible(timeout=LIVE_SECONDS * 1000)
    status, body = api("GET", f"/v2/events?messageId={message_id}")
    assert status == 200, body
    assert {"CANCEL_REQUESTED", "CANCELED"} & {e["state"] for e in json.loads(body)["events"]}
    assert target.requests_to(path) == []


def test_the_workflow_runs_view_lists_runs_or_says_the_api_is_missing(page, unserved_apis):
    open_view(page, "Workflow runs")
    page.wait_for_load_state("networkidle")
    missing = page.get_by_text("This Ferry has no /v2/workflows/logs API yet")
    if "/v2/workflows/logs" in unserved_apis:
        expect(missing).to_be_visible()
    else:
        expect(missing).to_have_count(0)
    screenshot(page, "workflow-runs")


def test_a_workflow_runs_steps_appear(page, api, stack, path, unserved_apis):
    if "/v2/workflows/logs" in unserved_apis:
        pytest.skip("GET /v2/workflows/logs answers 404: the workflows API (issue 12) is not merged yet")
    from tests.integration.workflow_app import WorkflowApp  # the workflows engineer's SDK-served app

    env = stack.client_env()
    app = WorkflowApp(
        qstash_url=env["QSTASH_URL"],
        token=env["QSTASH_TOKEN"],
        current_key=env["QSTASH_CURRENT_SIGNING_KEY"],
        next_key=env["QSTASH_NEXT_SIGNING_KEY"],
    )
    try:

        def workflow(context) -> None:
            greeting = context.run("greet", lambda: f"hello {context.request_payload['name']}")
            context.run("shout", lambda: greeting.upper())

        url = app.route(path, workflow)
        publish(api, url, json.dumps({"name": "ada"}))

        def finished_run():
            status, body = api("GET", f"/v2/workflows/logs?workflowUrl={url}")
            runs = json.loads(body)["runs"] if status == 200 else []
            return next((r for r in runs if r["workflowState"] == "RUN_SUCCESS"), None)

        run = wait_until(finished_run, timeout=90, what="the workflow run to succeed")
        open_view(page, "Workflow runs")
        page.get_by_role("link", name=run["workflowRunId"]).click()
        steps = page.get_by_role("table", name="Steps")
        expect(steps.locator('tr[data-step="greet"]')).to_contain_text("hello ada")
        expect(steps.locator('tr[data-step="shout"]')).to_contain_text("HELLO ADA")
        expect(page.get_by_text("RUN_SUCCESS").first).to_be_visible()
        screenshot(page, "workflow-run")
    finally:
        app.stop()


def test_pausing_a_queue_shows_paused_through_the_api(page, api, path, unserved_apis):
    if "/v2/queues" in unserved_apis:
        pytest.skip("GET /v2/queues answers 404: the queues API (issue 11) is not merged yet")
    name = path.strip("/")[:60]
    body = json.dumps({"queueName": name, "parallelism": 2}).encode()
    status, answer = api("POST", "/v2/queues", body, {"Content-Type": "application/json"})
    assert status == 200, answer
    open_view(page, "Queues")
    row = page.locator(f'tr[data-queue="{name}"]')
    expect(row).to_contain_text("Active")
    screenshot(page, "queues")
    row.get_by_role("button", name="Pause").click()
    expect(row).to_contain_text("Paused")
    assert json.loads(api("GET", f"/v2/queues/{name}")[1])["paused"] is True
    row.get_by_role("button", name="Resume").click()
    expect(row).to_contain_text("Active")
    assert json.loads(api("GET", f"/v2/queues/{name}")[1])["paused"] is False
    api("DELETE", f"/v2/queues/{name}")
