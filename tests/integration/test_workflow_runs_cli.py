"""`ferry runs list|get|cancel|redrive` against `ferry dev`, with runs made by the unchanged
Python SDK: a failed run is listed, shown step by step, and redriven from its failed step."""

from __future__ import annotations

import json

import pytest

from ferry.cli import main
from tests.support.waiting import wait_until

pytestmark = pytest.mark.integration


@pytest.fixture
def ferry(stack, capsys):
    def run(*argv: str) -> tuple[int, str, str]:
        capsys.readouterr()
        code = main(["--url", stack.url, "--token", stack.secrets.api_token, *argv])
        out, err = capsys.readouterr()
        return code, out, err

    return run


def _run_of(services, url: str, state: str):
    def found():
        runs, _ = services.workflow_runs.list(url=url, state=state)
        return runs[0] if runs else None

    return wait_until(found, timeout=60, what=f"a {state} run of {url}")


def test_a_failed_run_is_listed_shown_and_redriven_from_its_failed_step(services, app, path, qstash, ferry):
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

    url = app.route(path, workflow, retries=0)
    qstash.message.publish_json(url=url, body={})
    run = _run_of(services, url, "RUN_FAILED")

    code, out, _ = ferry("runs", "list", "--state", "RUN_FAILED", "--url", url)
    assert code == 0 and run.run_id in out and "RUN_FAILED" in out
    code, out, _ = ferry("--json", "runs", "get", run.run_id)
    shown = json.loads(out)
    assert shown["workflowState"] == "RUN_FAILED" and "retries exhausted" in shown["error"]
    # The delivery carrying prepare's result is the one that ran (and failed) charge.
    assert [(s.get("stepName"), s.get("state")) for s in shown["steps"]] == [
        (None, "DELIVERED"),
        ("prepare", "FAILED"),
    ]

    broken["yes"] = False
    code, out, err = ferry("runs", "redrive", run.run_id)
    assert code == 0, err
    assert "RUN_STARTED" in out

    _run_of(services, url, "RUN_SUCCESS")
    assert ran == ["prepare", "charge", "charge"], "prepare is not run again; charge resumes"
    code, out, _ = ferry("runs", "redrive", run.run_id)
    assert code == 1 and "only a failed run" in out + _


def test_runs_cancel_stops_a_sleeping_run_and_an_unknown_run_is_an_error(services, app, path, qstash, ferry):
    def workflow(context) -> None:
        context.sleep("nap", 600)

    url = app.route(path, workflow)
    qstash.message.publish_json(url=url, body={})
    run = _run_of(services, url, "RUN_STARTED")
    wait_until(lambda: len(services.workflow_runs.get(run.run_id)[1]) == 2, what="the sleep step")

    code, out, _ = ferry("runs", "cancel", run.run_id, "wfr_unknown")
    assert code == 0 and "cancelled 1 of 2" in out
    assert services.workflow_runs.get(run.run_id)[0].state.value == "RUN_CANCELED"
    code, _, err = ferry("runs", "get", "wfr_unknown")
    assert code == 1 and "does not exist" in err


def test_a_runs_timeline_shows_inputs_outputs_attempts_and_durations_and_honours_redaction(
    services, app, path, qstash, ferry
):
    tries = {"flaky": 0}

    def flaky() -> str:
        tries["flaky"] += 1
        if tries["flaky"] == 1:
            raise RuntimeError("not yet")
        return "steady"

    def workflow(context) -> None:
        context.run("flaky", flaky)

    plain_url = app.route(path, workflow, retries=2)
    secret_url = app.route(
        path + "-redacted", lambda context: context.run("secret", lambda: "s3cr3t-out"), redact={"body": True}
    )
    qstash.message.publish_json(url=plain_url, body={"card": "4242"})
    plain = _run_of(services, plain_url, "RUN_SUCCESS")
    qstash.message.publish_json(url=secret_url, body={"card": "s3cr3t-in"})
    secret = _run_of(services, secret_url, "RUN_SUCCESS")

    code, out, _ = ferry("--json", "runs", "get", plain.run_id)
    assert code == 0
    initial, result = json.loads(out)["steps"]
    assert json.loads(initial["input"]) == {"card": "4242"}, "the run's input"
    # The initial delivery ran flaky: it failed once (the app's 500), then succeeded.
    assert [(a["retried"], a["status"]) for a in initial["attempts"]] == [(0, 500), (1, 200)]
    assert all(a["durationMs"] >= 0 for a in initial["attempts"])
    assert initial["durationMs"] == sum(a["durationMs"] for a in initial["attempts"])
    assert (result["stepName"], json.loads(result["out"])) == ("flaky", "steady"), "the step's output"
    assert [a["status"] for a in result["attempts"]] == [200], "the finishing delivery"
    code, out, _ = ferry("runs", "get", plain.run_id)
    assert code == 0 and "ATTEMPTS" in out and "flaky" in out

    code, out, _ = ferry("--json", "runs", "get", secret.run_id)
    shown = json.loads(out)
    assert "s3cr3t" not in out, "Upstash-Redact-Fields: body hides inputs and outputs"
    assert [s.get("input", s.get("out")) for s in shown["steps"]] == ["REDACTED", "REDACTED"]

    # Time filters: runs created in [from, to], both inclusive.
    code, out, _ = ferry(
        "runs", "list", "--url", plain_url, "--from", str(plain.created_at), "--to", str(plain.created_at)
    )
    assert code == 0 and plain.run_id in out
    code, out, _ = ferry("runs", "list", "--url", plain_url, "--from", str(plain.created_at + 1))
    assert code == 0 and plain.run_id not in out and "no runs" in out
    code, out, _ = ferry("runs", "list", "--url", secret_url, "--to", "2000-01-01T00:00:00Z")
    assert code == 0 and "no runs" in out
