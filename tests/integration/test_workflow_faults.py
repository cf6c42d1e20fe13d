"""Workflow runs under faults, against `ferry dev` with the unchanged `upstash-workflow` Python SDK:
an endpoint that is down, a dispatcher that crashes between a delivery and its report, a cancel
while a step is in flight, a step result larger than Step Functions state may hold, and the
headers of the SDK's own request, which it forwards with every step."""

from __future__ import annotations

import json
import threading

import pytest
from qstash import Receiver

from ferry.domain.history import State
from tests.integration.workflow_app import Calls
from tests.support.stack_api import api
from tests.support.waiting import wait_until

pytestmark = pytest.mark.integration


def _run(services, calls: Calls, *, state: str | None = None, timeout: float = 60):
    def found():
        if not calls.run_ids:
            return None
        run = services.run_log.get_run(calls.run_ids[0])
        return run if run is not None and (state is None or run.state.value == state) else None

    return wait_until(found, timeout=timeout, what=f"the run in state {state}")


def _step_message(services, run_id: str, name: str):
    # None until it is stored: a probe of wait_until must not raise StopIteration.
    return next((m for m in services.run_log.messages(run_id) if m.step and m.step.step_name == name), None)


def test_an_endpoint_that_is_down_gets_each_step_retried_with_qstash_backoff_then_one_failure_call(
    services, app, path, qstash
):
    calls = Calls()
    failures: list[int] = []

    def workflow(context) -> None:
        def first() -> str:
            calls("first", context)
            app.down.add(path)  # the endpoint goes down once this step's result is published
            return "done"

        context.run("first", first)
        context.run("second", lambda: calls("second", context))

    url = app.route(
        path, workflow, retries=1, failure_function=lambda context, status, *_: failures.append(status)
    )
    qstash.message.publish_json(url=url, body={})
    run = _run(services, calls)
    # The delivery carrying first's result (the one that would run second) finds the endpoint down.
    delivery = wait_until(lambda: _step_message(services, run.run_id, "first"), what="first's result")
    run = _run(services, calls, state="RUN_FAILED", timeout=60)
    app.down.discard(path)  # back up: the failure callback (an ordinary retried message) gets through
    wait_until(lambda: failures, timeout=40, what="the failure function to run")

    events = services.history.events(delivery.message_id)
    active = sorted(e.time_ms for e in events if e.state is State.ACTIVE)
    retry = [e for e in events if e.state is State.RETRY]
    assert len(active) == 2, "retries=1: two attempts of the step"
    assert len(retry) == 1 and 11_000 <= retry[0].next_delivery_ms - retry[0].time_ms <= 13_000, (
        "QStash's first backoff, e^2.5 = 12.2 s (the endpoint sent no Retry-After)"
    )
    assert active[1] - active[0] >= 11_000, "the second attempt waited out the backoff"
    assert services.history.state(delivery.message_id) == State.FAILED
    assert calls.counts == {"first": 1}
    wait_until(lambda: services.run_driver.status(run.execution) == "FAILED", what="the execution to fail")
    assert len(failures) == 1, "the failure function is called once"


def _in_flight_task_messages(run_id: str) -> list:
    """The run's driver Task messages that a delivery received and never deleted (it crashed)."""
    from moto.sqs.models import sqs_backends

    found = []
    for regions in sqs_backends.values():
        for backend in regions.values():
            for queue in backend.queues.values():
                found.extend(m for m in queue._messages if run_id in m.body and not m.visible)
    return found


def test_a_dispatcher_crash_between_a_delivery_and_its_report_neither_loses_nor_repeats_the_step(
    services, app, path, qstash, monkeypatch
):
    calls = Calls()
    crashed: list[dict] = []
    driver = services.run_driver
    succeed = driver.succeed

    def crash_once(token: str, output: dict) -> bool:
        # The dispatcher dies after the endpoint stored first's result, before SendTaskSuccess
        # (and so before the SQS message is deleted): the Task message comes back later.
        if not crashed and calls.run_ids and calls.counts["first"] == 1:
            ids = {m.message_id for m in services.run_log.messages(calls.run_ids[0])}
            if output.get("messageId") in ids:
                crashed.append(output)
                raise RuntimeError("dispatcher crashed")
        return succeed(token, output)

    monkeypatch.setattr(driver, "succeed", crash_once)

    def workflow(context) -> None:
        context.run("first", lambda: calls("first", context))
        context.run("second", lambda: calls("second", context))
        context.run("third", lambda: calls("third", context))

    url = app.route(path, workflow)
    qstash.message.publish_json(url=url, body={})
    wait_until(lambda: crashed, what="the dispatcher to crash")
    run_id = calls.run_ids[0]
    # Its visibility timeout passes (6 x the function timeout on AWS; here at once).
    [message] = wait_until(lambda: _in_flight_task_messages(run_id), what="the undeleted Task message")
    deliveries_before = len([p for p, *_ in app.raw if p == path])
    message.change_visibility(0)

    run = _run(services, calls, state="RUN_SUCCESS")
    assert calls.counts == {"first": 1, "second": 1, "third": 1}, "no step lost, none repeated"
    # The redelivered Task message found its outcome in the history: no second HTTP request for it.
    steps = [m for m in services.run_log.messages(run_id) if m.step]
    assert [m.step.step_name for m in steps] == ["first", "second", "third"]
    assert len([p for p, *_ in app.raw if p == path]) - deliveries_before == 3, (
        "after the crash: second, third and the finishing delivery; the crashed one is not repeated"
    )
    wait_until(lambda: services.run_driver.status(run.execution) == "SUCCEEDED", what="the execution to end")


def test_cancelling_a_run_with_a_step_in_flight_ignores_that_steps_late_result(
    stack, services, app, path, qstash
):
    calls = Calls()
    started, release = threading.Event(), threading.Event()

    def slow() -> str:
        started.set()
        release.wait(30)
        return "late"

    def workflow(context) -> None:
        context.run("before", lambda: calls("before", context))
        context.run("slow", lambda: calls("slow", context) and slow())
        context.run("after", lambda: calls("after", context))

    url = app.route(path, workflow)
    qstash.message.publish_json(url=url, body={})
    assert started.wait(30), "the slow step started"
    run = _run(services, calls)

    status, body = api(stack, "DELETE", f"/v2/workflows/runs/{run.run_id}")
    assert (status, body) == (200, {"cancelled": True})
    release.set()  # the step finishes after the cancel; the SDK publishes its result

    wait_until(lambda: services.run_driver.status(run.execution) == "ABORTED", what="the execution to stop")
    assert services.run_log.get_run(run.run_id).state.value == "RUN_CANCELED"
    assert [m.step.step_name for m in services.run_log.messages(run.run_id) if m.step] == ["before"], (
        "the late result was refused, not appended"
    )
    assert calls.counts == {"before": 1, "slow": 1}


def test_a_step_result_over_256_kib_is_delivered_and_never_enters_step_functions_state(
    stack, services, app, path, qstash
):
    import boto3

    calls = Calls()
    big = "x" * (300 * 1024)

    def workflow(context) -> None:
        result = context.run("big", lambda: calls("big", context) and big)
        context.run("measure", lambda: calls("measure", context) and len(result))

    url = app.route(path, workflow)
    qstash.message.publish_json(url=url, body={})
    run = _run(services, calls, state="RUN_SUCCESS", timeout=90)

    measured = json.loads(json.loads(_step_message(services, run.run_id, "measure").envelope.body)["out"])
    assert measured == len(big), "the next step got the whole 300 KiB result back"
    sfn = boto3.client("stepfunctions", region_name="us-east-1")
    wait_until(lambda: services.run_driver.status(run.execution) == "SUCCEEDED", what="the execution to end")
    events = sfn.get_execution_history(executionArn=run.execution, maxResults=1000)["events"]
    sizes = [len(json.dumps(event, default=str)) for event in events]
    assert max(sizes) < 4096, "state and task messages carry references (message ids), not results"


def test_headers_of_the_sdks_own_request_are_recomputed_or_dropped_never_replayed(
    stack, services, app, path, qstash
):
    calls = Calls()

    def workflow(context) -> None:
        context.run("a", lambda: calls("a", context))
        context.run("b", lambda: calls("b", context))

    url = app.route(path, workflow)
    qstash.message.publish_json(url=url, body={"padding": "p" * 100})
    run = _run(services, calls, state="RUN_SUCCESS")

    # The SDK forwarded its own request's headers with each step (`Upstash-Forward-Host`, ...).
    stored = {k.lower() for m in services.run_log.messages(run.run_id) for k in m.envelope.headers}
    assert not stored & {"host", "content-length"}, "transport headers are dropped at publish"
    env = stack.client_env()
    receiver = Receiver(
        current_signing_key=env["QSTASH_CURRENT_SIGNING_KEY"], next_signing_key=env["QSTASH_NEXT_SIGNING_KEY"]
    )
    deliveries = [(headers, body) for p, headers, body in app.raw if p == path]
    assert len(deliveries) == 4, "the plain first call, then one delivery per step and the finish"
    signatures = []
    for headers, body in deliveries:
        names = [name.lower() for name, _ in headers]
        repeated = {name for name in names if names.count(name) > 1}
        assert not repeated, f"a header arrived twice: {repeated}"
        fields = {name.lower(): value for name, value in headers}
        assert fields["host"] == app.url.removeprefix("http://")
        assert int(fields["content-length"]) == len(body.encode()), "this delivery's length, not the first's"
        receiver.verify(signature=fields["upstash-signature"], body=body, url=url)
        signatures.append(fields["upstash-signature"])
    assert len(set(signatures)) == 4, "each delivery is signed for its own body"


def test_a_step_delivered_again_after_its_result_was_stored_is_deduplicated_by_step_id(
    services, app, path, qstash
):
    calls = Calls()

    def workflow(context) -> None:
        def first() -> str:
            if calls("first", context) == 1:
                # The SDK publishes this result, then the answer to Ferry is lost: the delivery
                # is retried (QStash backoff) and the SDK runs and publishes the step again.
                app.lose_next_answer.add(path)
            return "one"

        context.run("first", first)
        context.run("second", lambda: calls("second", context))

    url = app.route(path, workflow)
    qstash.message.publish_json(url=url, body={})
    run = _run(services, calls, state="RUN_SUCCESS", timeout=60)

    assert calls.counts == {"first": 2, "second": 1}, "the lost answer counts as a failed attempt"
    steps = [m for m in services.run_log.messages(run.run_id) if m.step]
    assert [m.step.step_name for m in steps] == ["first", "second"], "one copy of first in the run log"
    # Had both copies reached the step array, the SDK would have answered "Incompatible step name"
    # (a 400 on every later delivery) and the run would have failed instead.
    assert 400 not in _delivery_statuses(services, run.run_id)


def _delivery_statuses(services, run_id: str) -> list[int | None]:
    statuses = []
    for message in services.run_log.messages(run_id):
        for event in services.history.events(message.message_id):
            if event.state in (State.DELIVERED, State.ERROR):
                statuses.append(event.response_status)
    return statuses


def test_a_run_past_the_messages_per_execution_continues_in_a_new_execution_with_the_same_run_id(
    services, app, path, qstash, monkeypatch
):
    import boto3

    from ferry.domain import workflow_driver

    # 1,000 in production (docs/workflows.md): 3 here, so 8 steps cross it twice.
    monkeypatch.setattr(workflow_driver, "MESSAGES_PER_EXECUTION", 3)
    calls = Calls()

    def workflow(context) -> None:
        for index in range(8):
            context.run(f"step-{index}", lambda index=index: calls(f"step-{index}", context))
        context.sleep("nap", 1)  # a sleep action handed over keeps its delay
        context.run("after-nap", lambda: calls("after-nap", context))

    url = app.route(path, workflow)
    qstash.message.publish_json(url=url, body={})
    run = _run(services, calls, state="RUN_SUCCESS", timeout=90)

    assert calls.counts == {**{f"step-{i}": 1 for i in range(8)}, "after-nap": 1}
    sfn = boto3.client("stepfunctions", region_name="us-east-1")
    machine = services.settings.run_driver_arn
    names = {
        e["name"]: e["executionArn"]
        for page in sfn.get_paginator("list_executions").paginate(stateMachineArn=machine)
        for e in page["executions"]
        if e["name"].startswith(run.run_id)
    }
    assert set(names) == {run.run_id, *(f"{run.run_id}-c{k}" for k in (1, 2, 3))}
    assert run.execution == names[f"{run.run_id}-c3"], "the run names its current execution"
    wait_until(
        lambda: all(services.run_driver.status(arn) == "SUCCEEDED" for arn in names.values()),
        what="every execution of the run to end",
    )
