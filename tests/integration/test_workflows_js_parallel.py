"""Parallel steps of the unchanged @upstash/workflow JS SDK (1.3.3) on `ferry dev`: a `Promise.all`
of `context.run` steps is delivered by the run driver's Map, every branch at once; the SDK then
gets one array with every branch's result and goes on. The branch bodies meet at a barrier in the
JS app's process (each waits, at most 10 s, until all three are inside), so branches delivered one
after another fail the run instead of passing slowly: no timing in any assertion."""

from __future__ import annotations

import json
import urllib.request

import pytest

from tests.support.js_app import JsApp
from tests.support.waiting import wait_until

pytestmark = pytest.mark.integration


def _state(services, run_id: str) -> str | None:
    run = services.run_log.get_run(run_id)
    return run.state.value if run else None


def _steps(services, run_id: str) -> list[tuple[int, int | None, str]]:
    return [
        (m.step.step_id, m.step.target_step, m.step.step_name)
        for m in services.run_log.messages(run_id)
        if m.step
    ]


def _out(services, run_id: str, name: str):
    message = next(m for m in services.run_log.messages(run_id) if m.step and m.step.step_name == name)
    return json.loads(json.loads(message.envelope.body)["out"])


def _failures(js: JsApp, run_id: str) -> list[dict]:
    with urllib.request.urlopen(js.url + "/failures", timeout=5) as response:
        return [c for c in json.loads(response.read()) if run_id in c["body"]]


def test_the_branches_of_a_promise_all_run_at_once_each_once_and_the_run_goes_on(services, js):
    run_id = js.post("/control/trigger", {"path": "/js-parallel-barrier", "body": {}})["workflowRunId"]

    wait_until(lambda: _state(services, run_id) != "RUN_STARTED", timeout=60, what="the run to end")
    assert js.post("/control/barrier", {"runId": run_id})["most"] == 3, "all three bodies inside at once"
    assert _state(services, run_id) == "RUN_SUCCESS", services.run_log.get_run(run_id).error
    counts = js.counts()
    assert [counts[f"js-parallel-barrier/{run_id}/{b}"] for b in ("a", "b", "c", "joined")] == [1, 1, 1, 1]
    assert _out(services, run_id, "joined") == ["A", {"b": 2}, ["C"]], "Promise.all's results, in order"
    plans = sorted(target for step_id, target, _ in _steps(services, run_id) if step_id == 0)
    results = sorted(step_id for step_id, _, _ in _steps(services, run_id) if step_id in (1, 2, 3))
    assert (plans, results) == ([1, 2, 3], [1, 2, 3]), "one plan and one result per branch"
    run = services.run_log.get_run(run_id)
    wait_until(lambda: services.run_driver.status(run.execution) == "SUCCEEDED", what="the execution")


def test_a_parallel_branch_that_spends_its_retries_fails_the_run_once_with_one_failure_call(services, js):
    run_id = js.post("/control/trigger", {"path": "/js-parallel-failing", "body": {}})["workflowRunId"]

    wait_until(lambda: _state(services, run_id) == "RUN_FAILED", timeout=60, what="the run to fail")
    [call] = wait_until(lambda: _failures(js, run_id), timeout=30, what="the failure function to run")
    assert json.loads(call["body"]) == {"workflowRunId": run_id, "failStatus": 429}, "branch b's last answer"
    run = services.run_log.get_run(run_id)
    wait_until(lambda: services.run_driver.status(run.execution) == "FAILED", what="the execution to fail")
    counts = js.counts()
    assert counts[f"js-parallel-failing/{run_id}/b"] == 4, "the first attempt and its 3 retries"
    assert (counts[f"js-parallel-failing/{run_id}/a"], counts[f"js-parallel-failing/{run_id}/c"]) == (1, 1)
    assert f"js-parallel-failing/{run_id}/after" not in counts, "the run did not go on"
    assert _failures(js, run_id) == [call], "the failure function is called once"
    assert counts[f"js-parallel-failing/{run_id}/failure-function"] == 1


def test_cancelling_a_run_inside_its_parallel_step_stops_it_and_ignores_the_late_results(services, js):
    run_id = js.post("/control/trigger", {"path": "/js-parallel-held", "body": {}})["workflowRunId"]
    wait_until(
        lambda: js.post("/control/barrier", {"runId": run_id})["inside"] == 3,
        timeout=30,
        what="all three branches to be inside their bodies",
    )

    assert js.post("/control/cancel", {"ids": [run_id]}) == {"cancelled": 1}
    js.post("/control/release", {"runId": run_id})

    run = services.run_log.get_run(run_id)
    assert run.state.value == "RUN_CANCELED"
    plans = [m.message_id for m in services.run_log.messages(run_id) if m.step and m.step.step_id == 0]
    wait_until(
        lambda: all(services.history.state(p) in ("DELIVERED", "FAILED") for p in plans),
        timeout=60,
        what="each branch's delivery (its late result refused) to end",
    )
    # AWS ends a stopped execution ABORTED; moto 5.2 ends one stopped inside a Map FAILED (its
    # iteration-abort path reads the stop's error string as a dict: docs/workflows.md, moto gaps).
    status = wait_until(
        lambda: (s := services.run_driver.status(run.execution)) != "RUNNING" and s, what="the execution"
    )
    assert status in ("ABORTED", "FAILED")
    assert [s for s in _steps(services, run_id) if s[0] != 0] == [], "no branch result was stored"
    counts = js.counts()
    assert [counts[f"js-parallel-held/{run_id}/{b}"] for b in ("a", "b", "c")] == [1, 1, 1]
    assert f"js-parallel-held/{run_id}/after" not in counts
    assert _state(services, run_id) == "RUN_CANCELED"
