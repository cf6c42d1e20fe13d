"""The unchanged @upstash/workflow JS SDK (1.3.3, served by node on 127.0.0.1, its Receiver
verifying every request; the `js` fixture in conftest.py) against `ferry dev`: trigger + cancel,
call, non-retryable error, waits, invoke. Parallel steps: test_workflows_js_parallel.py."""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.request
import uuid

import pytest

from tests.support.js_app import JsApp
from tests.support.waiting import wait_until

pytestmark = pytest.mark.integration


def _state(services, run_id: str) -> str | None:
    run = services.run_log.get_run(run_id)
    return run.state.value if run else None


def test_trigger_then_cancel_during_a_sleep(services, js):
    run_id = js.post("/control/trigger", {"path": "/js-sleeper", "body": {"n": 1}})["workflowRunId"]
    wait_until(
        lambda: any(m.step and m.step.step_name == "long-nap" for m in services.run_log.messages(run_id)),
        what="the run to reach its sleep",
    )

    cancelled = js.post("/control/cancel", {"ids": [run_id]})

    assert cancelled == {"cancelled": 1}
    run = services.run_log.get_run(run_id)
    assert run.state.value == "RUN_CANCELED"
    wait_until(lambda: services.run_driver.status(run.execution) == "ABORTED", what="the execution to stop")
    assert js.counts() == {"js-sleeper/first": 1}


def test_call_is_made_by_ferry_once_and_its_result_returned(services, js, target):
    run_id = js.post("/control/trigger", {"path": "/js-call", "body": {}})["workflowRunId"]
    wait_until(lambda: _state(services, run_id) == "RUN_SUCCESS", timeout=60, what="the run to succeed")
    assert len(target.requests_to("/js-third-party")) == 1
    assert json.loads(target.requests_to("/js-third-party")[0].body) == {"before": "ready"}
    counts = js.counts()
    assert (counts["js-call/before"], counts["js-call/after"]) == (1, 1)


def test_a_non_retryable_error_fails_the_run_at_once(services, js):
    run_id = js.post("/control/trigger", {"path": "/js-non-retryable", "body": {}})["workflowRunId"]
    wait_until(lambda: _state(services, run_id) == "RUN_FAILED", timeout=30, what="the run to fail")
    assert js.counts()["js-non-retryable/refuse"] == 1, "489 + Upstash-NonRetryable-Error: no retry"
    assert "non-retryable" in services.run_log.get_run(run_id).error


def _step_out(services, run_id: str, name: str):
    message = next(m for m in services.run_log.messages(run_id) if m.step and m.step.step_name == name)
    return json.loads(json.loads(message.envelope.body)["out"])


def test_parallel_steps_run_each_branch_once_and_join_their_results(services, js):
    run_id = js.post("/control/trigger", {"path": "/js-parallel", "body": {}})["workflowRunId"]
    wait_until(lambda: _state(services, run_id) == "RUN_SUCCESS", timeout=60, what="the run to succeed")
    counts = js.counts()
    assert [counts[f"js-parallel/{b}"] for b in ("a", "b", "c", "joined")] == [1, 1, 1, 1]
    assert _step_out(services, run_id, "joined") == "ABC"
    steps = [(m.step.step_id, m.step.target_step) for m in services.run_log.messages(run_id) if m.step]
    plans = sorted(target for step_id, target in steps if step_id == 0)
    results = sorted(step_id for step_id, _ in steps if step_id in (1, 2, 3))
    assert (plans, results) == ([1, 2, 3], [1, 2, 3]), "a plan step and a result step per branch"


def _reached(services, run_id: str, name: str) -> bool:
    return any(m.step and m.step.step_name == name for m in services.run_log.messages(run_id))


def test_wait_for_event_is_woken_by_notify_with_the_event_data(services, js, path):
    event_id = path.strip("/") + "-order-paid"
    run_id = js.post(
        "/control/trigger", {"path": "/js-wait", "body": {"eventId": event_id, "timeout": "1h"}}
    )["workflowRunId"]
    wait_until(
        lambda: js.post("/control/waiters", {"eventId": event_id}), what="the run to wait for the event"
    )

    woken = js.post("/control/notify", {"eventId": event_id, "eventData": {"order": 7}})

    assert [w["waiter"]["workflowRunId"] for w in woken] == [run_id]
    wait_until(lambda: _state(services, run_id) == "RUN_SUCCESS", timeout=60, what="the run to succeed")
    assert _step_out(services, run_id, "after-wait") == {"eventData": {"order": 7}, "timeout": False}
    counts = js.counts()
    assert (counts[f"js-wait/{event_id}/before"], counts[f"js-wait/{event_id}/after"]) == (1, 1)
    assert js.post("/control/waiters", {"eventId": event_id}) == [], "a woken waiter is no longer listed"
    assert js.post("/control/notify", {"eventId": event_id, "eventData": 8}) == [], "nobody waits any more"


def test_an_event_notified_just_before_the_wait_starts_is_not_lost(services, js, path):
    event_id = path.strip("/") + "-early"
    assert js.post("/control/notify", {"eventId": event_id, "eventData": "early bird"}) == []

    run_id = js.post(
        "/control/trigger", {"path": "/js-wait", "body": {"eventId": event_id, "timeout": "1h"}}
    )["workflowRunId"]

    wait_until(lambda: _state(services, run_id) == "RUN_SUCCESS", timeout=60, what="the run to succeed")
    assert _step_out(services, run_id, "after-wait") == {"eventData": "early bird", "timeout": False}


def test_wait_for_event_times_out_without_a_notify(services, js, path):
    event_id = path.strip("/") + "-never"
    run_id = js.post(
        "/control/trigger", {"path": "/js-wait", "body": {"eventId": event_id, "timeout": "2s"}}
    )["workflowRunId"]

    wait_until(lambda: _state(services, run_id) == "RUN_SUCCESS", timeout=60, what="the run to succeed")
    assert _step_out(services, run_id, "after-wait") == {"timeout": True}
    assert js.counts()[f"js-wait/{event_id}/after"] == 1
    assert js.post("/control/notify", {"eventId": event_id, "eventData": 1}) == [], (
        "the timed-out wait is gone"
    )
    run = services.run_log.get_run(run_id)
    wait_until(lambda: services.run_driver.status(run.execution) == "SUCCEEDED", what="the execution to end")


def test_invoke_runs_the_other_workflow_and_returns_its_result(services, js):
    run_id = js.post("/control/trigger", {"path": "/js-invoke-parent", "body": {}})["workflowRunId"]

    wait_until(lambda: _state(services, run_id) == "RUN_SUCCESS", timeout=60, what="the parent to succeed")
    result = _step_out(services, run_id, "after-invoke")
    assert result == {"body": {"doubled": 42}, "isFailed": False, "isCanceled": False}
    counts = js.counts()
    assert [
        counts[k] for k in ("js-invoke-parent/before", "js-invoke-child/work", "js-invoke-parent/after")
    ] == [
        1,
        1,
        1,
    ]
    children = [r for r in services.workflow_runs.list(url=js.url + "/js-invoke-child")[0] if r.parent_run_id]
    assert [(c.parent_run_id, c.state.value) for c in children] == [(run_id, "RUN_SUCCESS")]


def test_an_event_notified_to_one_run_before_it_waits_reaches_only_that_run(services, js, path):
    event_id = path.strip("/")
    suffix = uuid.uuid4().hex[:10]
    addressed = js.post(
        "/control/notify", {"eventId": event_id, "eventData": "yours", "workflowRunId": f"wfr_{suffix}"}
    )
    assert addressed == []

    other = js.post("/control/trigger", {"path": "/js-wait", "body": {"eventId": event_id, "timeout": "2s"}})
    mine = js.post(
        "/control/trigger",
        {"path": "/js-wait", "body": {"eventId": event_id, "timeout": "1h"}, "workflowRunId": suffix},
    )

    assert mine["workflowRunId"] == f"wfr_{suffix}"
    wait_until(lambda: _state(services, mine["workflowRunId"]) == "RUN_SUCCESS", timeout=60, what="my run")
    assert _step_out(services, mine["workflowRunId"], "after-wait") == {
        "eventData": "yours",
        "timeout": False,
    }
    wait_until(
        lambda: _state(services, other["workflowRunId"]) == "RUN_SUCCESS", timeout=60, what="the other run"
    )
    assert _step_out(services, other["workflowRunId"], "after-wait") == {"timeout": True}


def test_the_js_app_verifies_signatures_so_every_passing_run_was_signed_by_ferry(js):
    # The SDK's Receiver is on (QSTASH_*_SIGNING_KEY in the app's env): an unsigned request is refused.
    request = urllib.request.Request(
        js.url + "/js-call", data=b"{}", headers={"content-type": "application/json"}, method="POST"
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)
    assert refused.value.code == 500
    assert "signature" in refused.value.read().decode().lower()


def test_cancelling_a_run_that_waits_for_an_event_stops_it_and_removes_its_waiter(services, js, path):
    event_id = path.strip("/")
    run_id = js.post(
        "/control/trigger", {"path": "/js-wait", "body": {"eventId": event_id, "timeout": "1h"}}
    )["workflowRunId"]
    wait_until(
        lambda: js.post("/control/waiters", {"eventId": event_id}), what="the run to wait for the event"
    )

    assert js.post("/control/cancel", {"ids": [run_id]}) == {"cancelled": 1}

    run = services.run_log.get_run(run_id)
    wait_until(
        lambda: services.run_driver.status(run.execution) == "ABORTED",
        what="the execution to stop",
        explain=lambda: _execution_story(run.execution),
    )
    assert js.post("/control/waiters", {"eventId": event_id}) == []
    assert js.post("/control/notify", {"eventId": event_id, "eventData": 1}) == []
    assert js.counts().get(f"js-wait/{event_id}/after") is None


def test_an_invoked_workflow_that_fails_returns_is_failed_to_the_invoking_run(services, js):
    run_id = js.post("/control/trigger", {"path": "/js-invoke-failing-parent", "body": {}})["workflowRunId"]

    wait_until(lambda: _state(services, run_id) == "RUN_SUCCESS", timeout=60, what="the parent to go on")
    result = _step_out(services, run_id, "after-failed-invoke")
    assert (result["isFailed"], result["isCanceled"]) == (True, False)
    counts = js.counts()
    assert (counts["js-invoke-failing-child/refuses"], counts["js-invoke-failing-parent/after"]) == (1, 1)


def _execution_story(execution: str) -> str:
    """The execution's status and its last history events, for a failure message."""
    import boto3

    sfn = boto3.client("stepfunctions")
    described = sfn.describe_execution(executionArn=execution)
    events = sfn.get_execution_history(executionArn=execution)["events"][-12:]
    lines = [f"execution {described['status']} {described.get('error', '')} {described.get('cause', '')}"]
    for event in events:
        details = {k: v for k, v in event.items() if k.endswith("Details")}
        lines.append(f"  {event['type']} {json.dumps(details, default=str)[:300]}")
    return "\n".join(lines)


def _get(js: JsApp, path: str):
    with urllib.request.urlopen(js.url + path, timeout=5) as response:
        return json.loads(response.read())


def test_client_logs_reads_a_run_through_the_events_route_grouped_by_run(services, js):
    run_id = js.post("/control/trigger", {"path": "/js-call", "body": {}})["workflowRunId"]
    wait_until(lambda: _state(services, run_id) == "RUN_SUCCESS", timeout=60, what="the run to succeed")

    # Client.logs sends GET /v2/workflows/events?groupBy=workflowRunId&workflowRunId=...
    answer = js.post("/control/logs", {"workflowRunId": run_id})

    [run] = answer["runs"]
    assert (run["workflowRunId"], run["workflowState"]) == (run_id, "RUN_SUCCESS")
    assert [s.get("stepName") for s in run["steps"] if s.get("stepName")] == [
        "before",
        "third-party",
        "after",
    ]


def test_a_workflow_retry_after_error_retries_the_step_after_its_retry_after(services, js):
    run_id = js.post("/control/trigger", {"path": "/js-retry-after", "body": {}})["workflowRunId"]
    wait_until(lambda: _state(services, run_id) == "RUN_SUCCESS", timeout=30, what="the run to succeed")

    assert js.counts()["js-retry-after/busy-once"] == 2
    initial = services.run_log.messages(run_id)[0]
    retry = [e for e in services.history.events(initial.message_id) if e.state.value == "RETRY"]
    # 429 + Retry-After: 2 -> the next attempt in 2 s, not QStash's 12 s backoff.
    assert len(retry) == 1 and 1_500 <= retry[0].next_delivery_ms - retry[0].time_ms <= 2_500
    errors = [e for e in services.history.events(initial.message_id) if e.state.value == "ERROR"]
    assert [e.response_status for e in errors] == [429]


def test_a_failure_url_given_to_trigger_is_called_once_with_the_failure(services, js):
    run_id = js.post(
        "/control/trigger",
        {"path": "/js-failing", "body": {"order": 7}, "retries": 0, "failurePath": "/failure-sink"},
    )["workflowRunId"]
    wait_until(lambda: _state(services, run_id) == "RUN_FAILED", timeout=30, what="the run to fail")

    [call] = wait_until(
        lambda: [c for c in _get(js, "/failures") if run_id in c["body"]], timeout=30, what="the failure URL"
    )
    body = json.loads(call["body"])
    assert call["signed"] and body["workflowRunId"] == run_id and body["status"] == 500
    assert json.loads(base64.b64decode(body["sourceBody"])) == {"order": 7}, "the run's initial payload"
    assert js.counts()["js-failing/fails"] == 1, "retries=0"
    assert [c for c in _get(js, "/failures") if run_id in c["body"]] == [call], "called once"


def test_the_retries_given_to_trigger_hold_for_every_step_of_the_run(services, js):
    run_id = js.post(
        "/control/trigger",
        {"path": "/js-busy-later", "body": {}, "retries": 1, "failurePath": "/failure-sink"},
    )["workflowRunId"]
    wait_until(lambda: _state(services, run_id) == "RUN_FAILED", timeout=60, what="the run to fail")

    counts = js.counts()
    assert counts["js-busy-later/fine-first"] == 1
    assert counts["js-busy-later/always-busy"] == 2, "the first attempt and the trigger's 1 retry, not 3"
    step = next(m for m in services.run_log.messages(run_id) if m.step and m.step.step_name == "fine-first")
    assert step.envelope.max_retries == 1, "the step the SDK published without Upstash-Retries"
    wait_until(
        lambda: [c for c in _get(js, "/failures") if run_id in c["body"]], timeout=30, what="the failure URL"
    )
