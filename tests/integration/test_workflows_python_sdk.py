"""The unchanged `upstash-workflow` Python SDK against `ferry dev`: every run is an execution of
the one run-driver state machine in moto, every step a delivery by the existing dispatcher."""

from __future__ import annotations

import json
import urllib.request

import pytest

from ferry.dev.stack import DevStack
from tests.integration.workflow_app import Calls, WorkflowApp
from tests.support.stack_api import api
from tests.support.waiting import wait_until

pytestmark = pytest.mark.integration


def _run_for(services, app: WorkflowApp, url: str, *, state: str | None = None, timeout: float = 60):
    # By the run ids the app saw (key lookups): listing runs reads an index, which moto answers
    # by reading the whole table, and a test session's table grows large.
    def found():
        runs = [services.run_log.get_run(run_id) for run_id in app.run_ids(url)]
        return next((r for r in runs if r is not None and (state is None or r.state.value == state)), None)

    return wait_until(found, timeout=timeout, what=f"a run of {url} in state {state}")


def _post(stack: DevStack, path: str, headers: dict[str, str], body: str) -> tuple[int, dict]:
    request = urllib.request.Request(
        stack.url + path,
        data=body.encode(),
        method="POST",
        headers={
            "Authorization": f"Bearer {stack.secrets.api_token}",
            "Content-Type": "application/json",
            **headers,
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def test_run_sleep_call_and_a_step_failing_twice_each_body_running_once(
    stack, services, app, target, path, qstash
):
    calls = Calls()
    call_path = path + "-third-party"

    def flaky() -> str:
        if calls("flaky") <= 2:
            raise RuntimeError("not yet")
        return "steady"

    def workflow(context) -> None:
        first = context.run("first", lambda: calls("first") and f"hello {context.request_payload['name']}")
        context.sleep("nap", 2)
        answer = context.call("third-party", url=target.url(call_path), method="POST", body={"first": first})
        steady = context.run("flaky", flaky)
        context.run("last", lambda: calls("last") and {"status": answer.status, "steady": steady})

    url = app.route(path, workflow)
    qstash.message.publish_json(url=url, body={"name": "ada"})

    run = _run_for(services, app, url, state="RUN_SUCCESS", timeout=90)

    assert calls.counts == {"first": 1, "flaky": 3, "last": 1}
    assert len(target.requests_to(call_path)) == 1, "the third-party call is made once, by Ferry"
    assert json.loads(target.requests_to(call_path)[0].body) == {"first": "hello ada"}
    assert app.rejected == 0, "every delivery carried a signature the SDK's Receiver accepts"
    _, messages = services.workflow_runs.get(run.run_id)
    steps = [(m.step.step_name, m.step.step_type) for m in messages if m.step]
    assert steps == [
        ("first", "Run"),
        ("nap", "SleepFor"),
        ("third-party", "Call"),
        ("flaky", "Run"),
        ("last", "Run"),
    ]
    last = json.loads(json.loads(messages[-1].envelope.body)["out"])
    assert last == {"status": 200, "steady": "steady"}
    # The run is one Step Functions execution of the run driver; it ends once the dispatcher
    # reports the last delivery (just after the SDK's DELETE marked the run finished).
    wait_until(
        lambda: services.run_driver.status(run.execution) == "SUCCEEDED", what="the execution to succeed"
    )


def test_failure_function_is_called_once_when_a_step_keeps_failing(stack, services, app, path, qstash):
    calls = Calls()
    failures: list[tuple[int, str]] = []

    def workflow(context) -> None:
        context.run("doomed", lambda: calls("doomed") and (_ for _ in ()).throw(RuntimeError("boom")))

    def on_failure(context, status, message, headers) -> None:
        failures.append((status, message))

    url = app.route(path, workflow, retries=1, failure_function=on_failure)
    qstash.message.publish_json(url=url, body={})

    run = _run_for(services, app, url, state="RUN_FAILED", timeout=60)
    wait_until(lambda: failures, what="the failure function to run")
    assert calls.counts["doomed"] == 2, "retries=1: the step ran twice"
    assert failures == [(500, "boom")]
    wait_until(lambda: services.run_driver.status(run.execution) == "FAILED", what="the execution to fail")


def test_cancel_during_a_sleep_stops_the_execution_and_the_run_and_later_appends_are_400(
    stack, services, app, path, qstash
):
    calls = Calls()

    def workflow(context) -> None:
        context.run("before", lambda: calls("before"))
        context.sleep("long-nap", 600)
        context.run("after", lambda: calls("after"))

    url = app.route(path, workflow)
    qstash.message.publish_json(url=url, body={})
    run = _run_for(services, app, url)
    wait_until(
        lambda: any(
            m.step and m.step.step_name == "long-nap" for m in services.workflow_runs.get(run.run_id)[1]
        ),
        what="the run to reach its sleep",
    )
    run = services.workflow_runs.get(run.run_id)[0]

    status, body = api(stack, "DELETE", f"/v2/workflows/runs/{run.run_id}")

    assert (status, body) == (200, {"cancelled": True})
    wait_until(lambda: services.run_driver.status(run.execution) == "ABORTED", what="the execution to stop")
    assert services.workflow_runs.get(run.run_id)[0].state.value == "RUN_CANCELED"
    assert calls.counts == {"before": 1}
    status, body = api(stack, "DELETE", f"/v2/workflows/runs/{run.run_id}")
    assert (status, body) == (200, {"cancelled": False}), "cancelling twice changes nothing"
    step = {"stepId": 3, "stepName": "after", "stepType": "Run", "out": "1", "concurrent": 1}
    headers = {
        "Upstash-Workflow-RunId": run.run_id,
        "Upstash-Workflow-Init": "false",
        "Upstash-Workflow-Url": url,
    }
    late = qstash.http.request(
        path="/v2/batch",
        method="POST",
        headers={"Content-Type": "application/json"},
        body=json.dumps([{"destination": url, "headers": headers, "body": json.dumps(step)}]),
    )
    assert late[0]["status"] == 400 and "already ended (RUN_CANCELED)" in late[0]["error"]
    assert [m.step.step_name for m in services.workflow_runs.get(run.run_id)[1] if m.step] == [
        "before",
        "long-nap",
    ], "the refused append changed nothing"


def test_unknown_run_is_404_and_appending_to_an_ended_run_is_400(stack, services, app, path, qstash):
    status, body = api(stack, "GET", "/v2/workflows/runs/wfr_doesnotexist")
    assert status == 404 and "does not exist" in body["error"]

    calls = Calls()
    url = app.route(path, lambda context: context.run("only", lambda: calls("only")))
    qstash.message.publish_json(url=url, body={})
    run = _run_for(services, app, url, state="RUN_SUCCESS")

    step = {"stepId": 9, "stepName": "late", "stepType": "Run", "out": "1", "concurrent": 1}
    headers = {
        "Upstash-Workflow-RunId": run.run_id,
        "Upstash-Workflow-Init": "false",
        "Upstash-Workflow-Url": url,
    }
    late = qstash.http.request(
        path="/v2/batch",
        method="POST",
        headers={"Content-Type": "application/json"},
        body=json.dumps([{"destination": url, "headers": headers, "body": json.dumps(step)}]),
    )
    assert late[0]["status"] == 400 and "already ended" in late[0]["error"]
    malformed = qstash.http.request(
        path="/v2/batch",
        method="POST",
        headers={"Content-Type": "application/json"},
        body=json.dumps(
            [{"destination": url, "headers": {**headers, "Upstash-Workflow-Init": "maybe"}, "body": "{}"}]
        ),
    )
    assert malformed[0]["status"] == 400 and malformed[0]["field"] == "Upstash-Workflow-Init"
    # The same through /v2/publish (a step message may come either way): ended 400, unknown 404.
    status, body = _post(stack, f"/v2/publish/{url}", headers, json.dumps(step))
    assert status == 400 and "already ended (RUN_SUCCESS)" in body["error"]
    status, body = _post(
        stack, f"/v2/publish/{url}", {**headers, "Upstash-Workflow-RunId": "wfr_nosuchrun"}, json.dumps(step)
    )
    assert status == 404 and "does not exist" in body["error"]
    assert [m.step.step_name for m in services.workflow_runs.get(run.run_id)[1] if m.step] == ["only"]


def test_a_twenty_step_run_and_ten_concurrent_runs_complete_each_step_once(
    stack, services, app, path, qstash
):
    calls = Calls()

    def long_workflow(context) -> None:
        for index in range(20):
            context.run(f"step-{index}", lambda index=index: calls(f"long-{index}"))

    def short_workflow(context) -> None:
        tag = context.request_payload["tag"]
        context.run("one", lambda: calls(f"{tag}-one"))
        context.run("two", lambda: calls(f"{tag}-two"))

    long_url = app.route(path + "-long", long_workflow)
    short_url = app.route(path + "-short", short_workflow)
    qstash.message.publish_json(url=long_url, body={})
    for index in range(10):
        qstash.message.publish_json(url=short_url, body={"tag": f"r{index}"})

    # Polled by run id (a key lookup): listing runs reads an index, which moto answers by reading
    # the whole table, and the session's table is large by now.
    def succeeded(url: str, count: int) -> bool:
        ids = app.run_ids(url)
        states = [services.run_log.get_run(run_id) for run_id in ids]
        return len(ids) == count and all(r is not None and r.state.value == "RUN_SUCCESS" for r in states)

    wait_until(lambda: succeeded(short_url, 10), timeout=120, what="ten concurrent runs to succeed")
    wait_until(lambda: succeeded(long_url, 1), timeout=120, what="the twenty-step run to succeed")
    assert calls.counts == {
        **{f"long-{index}": 1 for index in range(20)},
        **{f"r{index}-{step}": 1 for index in range(10) for step in ("one", "two")},
    }


def test_sleep_until_holds_the_run_until_the_timestamp_in_a_wait_state(stack, services, app, path, qstash):
    import time

    calls = Calls()
    ran_at: list[float] = []
    until = int(time.time()) + 3  # Upstash-Not-Before carries whole unix seconds

    def workflow(context) -> None:
        context.run("before", lambda: calls("before"))
        context.sleep_until("until", until)
        context.run("after", lambda: calls("after") and ran_at.append(time.time()))

    url = app.route(path, workflow)
    qstash.message.publish_json(url=url, body={})
    run = _run_for(services, app, url, state="RUN_SUCCESS")

    assert calls.counts == {"before": 1, "after": 1}
    # moto's Wait truncates (timestamp - now) to whole seconds, so it may end up to 1 s early
    # (docs/workflows.md, moto table); AWS waits until the timestamp.
    assert ran_at[0] >= until - 1, "the step after the sleep ran only once the timestamp was (about) reached"
    _, messages = services.workflow_runs.get(run.run_id)
    assert [(m.step.step_name, m.step.step_type) for m in messages if m.step][1] == ("until", "SleepUntil")
