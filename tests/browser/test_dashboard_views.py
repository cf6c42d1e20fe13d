"""The dashboard's views against `ferry dev` with real destinations on 127.0.0.1: what a developer
sees and does there is what the API says and does."""

from __future__ import annotations

import json
import re
from urllib.parse import parse_qs, urlparse

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import screenshot
from tests.support.target import Reply
from tests.support.waiting import wait_until

pytestmark = pytest.mark.integration

LIVE_SECONDS = 5  # the bound for a change to show up without a reload
PAGE_SECONDS = 30  # a page the user asked for (see the paging test)


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


def test_a_failed_messages_timeline_shows_each_error_with_status_body_and_next_delivery(
    page, api, target, path
):
    target.always(path, Reply(status=503, body=b"try later"))
    message_id = publish(api, target.url(path), Upstash_Retries="1", Upstash_Retry_Delay="1000")
    page.get_by_role("link", name=message_id).click()
    timeline = page.get_by_role("list", name="Timeline")
    expect(timeline.locator('[data-state="FAILED"]')).to_be_visible(timeout=15_000)
    errors = timeline.locator('[data-state="ERROR"]')
    expect(errors).to_have_count(2)
    expect(errors.first).to_contain_text("503")
    expect(errors.first).to_contain_text("try later")
    expect(timeline.locator('[data-state="RETRY"]')).to_contain_text("Next delivery")
    expect(timeline.locator('[data-state="CREATED"]')).to_be_visible()


def test_messages_are_searched_by_id_and_filtered_by_url_and_queue(page, api, target, path):
    queue = path.strip("/")[:60]
    queued = api("POST", f"/v2/enqueue/{queue}/{target.url(path + '-q')}", b"{}")
    assert queued[0] == 200, queued
    queued_id = json.loads(queued[1])["messageId"]
    plain = publish(api, target.url(path + "-p"))
    target.wait_for(path + "-q")
    target.wait_for(path + "-p")
    for label, value, shown, hidden in (
        ("Queue", queue, queued_id, plain),
        ("URL", target.url(path + "-p"), plain, queued_id),
        ("Message ID", queued_id, queued_id, plain),
    ):
        page.get_by_label(label).fill(value)
        page.get_by_role("button", name="Apply filters").click()
        expect(page.locator(f'tr[data-message-id="{shown}"]')).to_be_visible(timeout=LIVE_SECONDS * 1000)
        expect(page.locator(f'tr[data-message-id="{hidden}"]')).to_have_count(0)
        page.get_by_label(label).fill("")


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


def test_selected_dead_letters_are_retried_together_and_one_is_deleted_alone(page, api, target, path):
    target.script(path, *[Reply(status=500)] * 3)  # three first attempts fail, the retries succeed
    ids = [publish(api, target.url(path), str(i), Upstash_Retries="0") for i in range(3)]
    entries = [wait_until(lambda i=i: dead_letter_of(api, i), what="DLQ entry") for i in ids]
    open_view(page, "Dead letter queue")
    for entry in entries[:2]:
        page.get_by_label(f"Select {entry['dlqId']}").check()
    page.get_by_role("button", name="Retry selected").click()
    expect(page.get_by_role("status")).to_contain_text("Retried 2")
    retried = target.wait_for(path, 5)[3:]
    assert sorted(r.body for r in retried) == [b"0", b"1"]
    last = page.locator(f'tr[data-dlq-id="{entries[2]["dlqId"]}"]')
    last.get_by_role("button", name="Delete").click()
    expect(last).to_have_count(0, timeout=LIVE_SECONDS * 1000)
    assert all(dead_letter_of(api, i) is None for i in ids)
    status, _ = api("GET", f"/v2/dlq/{entries[2]['dlqId']}")
    assert status == 404
    assert len(target.requests_to(path)) == 5, "a deleted entry is not delivered"


def test_a_schedule_shows_its_destination_and_next_firing_and_delete_removes_it(page, api, target, path):
    status, body = api("POST", f"/v2/schedules/{target.url(path)}", b"{}", {"Upstash-Cron": "0 0 1 1 *"})
    assert status == 200, body
    schedule_id = json.loads(body)["scheduleId"]
    open_view(page, "Schedules")
    row = page.locator(f'tr[data-schedule-id="{schedule_id}"]')
    expect(row).to_contain_text(target.url(path))
    next_firing = json.loads(api("GET", f"/v2/schedules/{schedule_id}")[1])["nextScheduleTime"]
    shown = row.locator("td").nth(3).locator("time")
    expect(shown).to_have_count(1)
    assert shown.inner_text().strip()
    assert page.evaluate("ms => new Date(ms).toISOString()", next_firing) == shown.get_attribute("datetime")
    row.get_by_role("button", name="Delete").click()
    expect(row).to_have_count(0, timeout=LIVE_SECONDS * 1000)
    assert api("GET", f"/v2/schedules/{schedule_id}")[0] == 404


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


def cells(row) -> list[str]:
    return [text.strip() for text in row.locator("td").all_inner_texts()]


def test_queues_show_parallelism_lag_in_flight_and_paused_live_and_resume_from_the_page(
    page, api, target, path
):
    name = path.strip("/")[:60]
    target.always(path, Reply(delay=2.0))
    body = json.dumps({"queueName": name, "parallelism": 2, "paused": True}).encode()
    assert api("POST", "/v2/queues", body, {"Content-Type": "application/json"})[0] == 200
    for i in range(3):
        assert api("POST", f"/v2/enqueue/{name}/{target.url(path)}", str(i).encode())[0] == 200
    open_view(page, "Queues")
    row = page.locator(f'tr[data-queue="{name}"]')
    # Name, Parallelism, Lag, In flight, Status
    expect(row.locator("td").nth(2)).to_have_text("3", timeout=LIVE_SECONDS * 1000)
    assert cells(row)[:5] == [name, "2", "3", "0", "Paused"]
    row.get_by_role("button", name=f"Resume queue {name}").click()
    # Two start at once (the 2 s target holds them): the page shows them in flight, one waiting.
    expect(row.locator("td").nth(3)).to_have_text("2", timeout=LIVE_SECONDS * 1000)
    assert cells(row)[2] == "1" and cells(row)[4] == "Active"
    assert json.loads(api("GET", f"/v2/queues/{name}")[1])["paused"] is False
    target.wait_for(path, 3, timeout=30)
    expect(row.locator("td").nth(2)).to_have_text("0", timeout=LIVE_SECONDS * 1000)
    expect(row.locator("td").nth(3)).to_have_text("0", timeout=LIVE_SECONDS * 1000)
    api("DELETE", f"/v2/queues/{name}")


def test_flow_control_keys_show_parallelism_in_flight_and_waiting_and_pause_from_the_page(
    page, api, target, path
):
    key = "dash" + path.replace("/", "-")[:80]
    target.always(path, Reply(delay=3.0))
    control = {"Upstash-Flow-Control-Key": key, "Upstash-Flow-Control-Value": "parallelism=1, rate=50"}
    for i in range(3):
        publish(api, target.url(path), str(i), **control)
    open_view(page, "Queues")
    row = page.locator(f'tr[data-flow-control-key="{key}"]')
    # Key, Parallelism, In flight, Waiting, Rate, Status
    expect(row.locator("td").nth(2)).to_have_text("1", timeout=LIVE_SECONDS * 1000)
    expect(row.locator("td").nth(3)).to_have_text("2", timeout=LIVE_SECONDS * 1000)
    assert cells(row)[1] == "1" and cells(row)[5] == "Active"
    assert "of 50 per 1 s" in cells(row)[4]
    screenshot(page, "queues")
    row.get_by_role("button", name=f"Pause key {key}").click()
    expect(row.locator("td").nth(5)).to_have_text("Paused")
    assert json.loads(api("GET", f"/v2/flowControl/{key}")[1])["isPaused"] is True
    row.get_by_role("button", name=f"Resume key {key}").click()
    expect(row.locator("td").nth(5)).to_have_text("Active")
    assert json.loads(api("GET", f"/v2/flowControl/{key}")[1])["isPaused"] is False
    target.wait_for(path, 3, timeout=30)


def test_thousands_of_messages_are_paged_through_the_cursor_never_loaded_at_once(page, api, target, path):
    label = "paged" + path.replace("/", "")[-20:].replace("-", "")
    items = [
        {
            "destination": target.url(path),
            "headers": {"Upstash-Delay": "1h", "Upstash-Label": label},
            "body": str(i),
        }
        for i in range(1_000)
    ]
    for start in range(0, len(items), 100):
        chunk = json.dumps(items[start : start + 100]).encode()
        status, answer = api("POST", "/v2/batch", chunk, {"Content-Type": "application/json"})
        assert status == 200, answer
    counts: list[int] = []
    page.on(
        "request",
        lambda r: (
            counts.append(int(parse_qs(urlparse(r.url).query).get("count", ["0"])[0]))
            if urlparse(r.url).path == "/v2/events"
            else None
        ),
    )
    page.get_by_label("Label").fill(label)
    # (The unfiltered first page shows 50 of these messages too: wait for the filtered one.)
    with page.expect_response(lambda r: f"label={label}" in r.url):
        page.get_by_role("button", name="Apply filters").click()
    rows = page.locator("tr[data-message-id]")
    # A requested page is not a live update (LIVE_SECONDS): it takes what one /v2/events request
    # takes, and on ferry dev's emulator every index Query reads the whole table (moto), 2.2-5.7 s
    # a request measured with this package's thousands of messages (docs/benchmarks.md).
    expect(rows).to_have_count(50, timeout=PAGE_SECONDS * 1000)
    page.get_by_role("button", name="Load older messages").click()
    expect(rows).to_have_count(100, timeout=PAGE_SECONDS * 1000)
    page.get_by_role("button", name="Load older messages").click()
    expect(rows).to_have_count(150, timeout=PAGE_SECONDS * 1000)
    assert counts and max(counts) <= 50, counts  # one page per request, whatever the total
    assert target.requests_to(path) == []


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


def test_a_workflow_runs_steps_appear(page, api, workflow_app, path):
    def workflow(context) -> None:
        greeting = context.run("greet", lambda: f"hello {context.request_payload['name']}")
        context.run("shout", lambda: greeting.upper())

    url = workflow_app.route(path, workflow)
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
    # Columns: Step, Name, Type, State, Attempts, Duration, Input, Output, Time.
    greet = steps.locator('tr[data-step="greet"] td')
    expect(greet.nth(3)).to_have_text("DELIVERED")
    expect(greet.nth(4)).to_have_text("1")
    expect(greet.nth(5)).to_have_text(re.compile(r"^\d+ ms$"))
    started = steps.locator("tr", has_text="(run started)").locator("td")
    expect(started.nth(6)).to_contain_text('"name"')  # the run's payload is its input
    expect(page.get_by_text("RUN_SUCCESS").first).to_be_visible()
    screenshot(page, "workflow-run")


def test_pausing_a_queue_shows_paused_through_the_api(page, api, path):
    name = path.strip("/")[:60]
    body = json.dumps({"queueName": name, "parallelism": 2}).encode()
    status, answer = api("POST", "/v2/queues", body, {"Content-Type": "application/json"})
    assert status == 200, answer
    open_view(page, "Queues")
    row = page.locator(f'tr[data-queue="{name}"]')
    expect(row).to_contain_text("Active")
    row.get_by_role("button", name="Pause").click()
    expect(row).to_contain_text("Paused")
    assert json.loads(api("GET", f"/v2/queues/{name}")[1])["paused"] is True
    row.get_by_role("button", name="Resume").click()
    expect(row).to_contain_text("Active")
    assert json.loads(api("GET", f"/v2/queues/{name}")[1])["paused"] is False
    api("DELETE", f"/v2/queues/{name}")


@pytest.fixture
def workflow_app(stack):
    from tests.integration.workflow_app import WorkflowApp  # the workflows engineer's SDK-served app

    app = WorkflowApp.for_stack(stack)
    try:
        yield app
    finally:
        app.stop()


def run_in_state(api, url: str, state: str) -> dict:
    def found():
        status, body = api("GET", f"/v2/workflows/logs?workflowUrl={url}")
        runs = json.loads(body)["runs"] if status == 200 else []
        return next((r for r in runs if r["workflowState"] == state), None)

    return wait_until(found, timeout=60, what=f"a {state} run of {url}")


def test_cancel_on_a_sleeping_workflow_run_cancels_it(page, api, workflow_app, path):
    url = workflow_app.route(path, lambda context: context.sleep("nap", 600))
    publish(api, url)
    run = run_in_state(api, url, "RUN_STARTED")
    open_view(page, "Workflow runs")
    expect(page.get_by_role("link", name=run["workflowRunId"])).to_be_visible(timeout=LIVE_SECONDS * 1000)
    screenshot(page, "workflow-runs")
    page.get_by_role("link", name=run["workflowRunId"]).click()
    page.get_by_role("button", name="Cancel run").click()
    expect(page.get_by_role("status")).to_have_text(f"Cancelled {run['workflowRunId']}")
    assert run_in_state(api, url, "RUN_CANCELED")["workflowRunId"] == run["workflowRunId"]
    expect(page.get_by_role("button", name="Cancel run")).to_have_count(0, timeout=LIVE_SECONDS * 1000)


def test_redrive_on_a_failed_workflow_run_resumes_it_from_the_failed_step(page, api, workflow_app, path):
    broken = {"yes": True}
    ran: list[str] = []

    def workflow(context) -> None:
        context.run("prepare", lambda: ran.append("prepare") or "ready")

        def charge() -> str:
            ran.append("charge")
            if broken["yes"]:
                raise RuntimeError("card declined")
            return "charged"

        context.run("charge", charge)

    url = workflow_app.route(path, workflow, retries=0)
    publish(api, url)
    run = run_in_state(api, url, "RUN_FAILED")
    open_view(page, "Workflow runs")
    page.get_by_role("link", name=run["workflowRunId"]).click()
    steps = page.get_by_role("table", name="Steps")
    # The run's page renders after its fetch: wait for the table before reading its header once.
    expect(steps.locator("th").first).to_be_visible()
    header = [t.strip() for t in steps.locator("th").all_inner_texts()]
    assert {"Attempts", "Duration", "Input", "Output"} <= set(header), header
    prepare = steps.locator('tr[data-step="prepare"]')
    expect(prepare).to_contain_text("ready")
    duration = prepare.locator("td").nth(header.index("Duration"))
    expect(duration).to_have_text(re.compile(r"^\d+ ms$"))
    broken["yes"] = False
    page.get_by_role("button", name="Redrive from the failed step").click()
    expect(page.get_by_role("status")).to_have_text(f"Redriving {run['workflowRunId']}")
    assert run_in_state(api, url, "RUN_SUCCESS")["workflowRunId"] == run["workflowRunId"]
    assert ran == ["prepare", "charge", "charge"], "prepare is not run again; charge resumes"
    expect(page.get_by_text("RUN_SUCCESS").first).to_be_visible(timeout=LIVE_SECONDS * 1000)
