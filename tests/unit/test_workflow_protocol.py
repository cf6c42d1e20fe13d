"""The Upstash Workflow protocol as plain logic: classification, step arrays, the next action."""

from __future__ import annotations

import base64
import dataclasses
import json

import pytest

from ferry.domain.envelope import Envelope
from ferry.domain.errors import InvalidInput
from ferry.domain.workflow_bodies import invoke_result_body, parse_invoke, wait_result_body
from ferry.domain.workflow_protocol import (
    MessageKind,
    Run,
    RunMessage,
    RunState,
    StepInfo,
    WaitInfo,
    delivery_body,
    driver_position,
    next_action,
    parse_workflow_headers,
    step_info,
)

URL = "https://app.example/wf"


def _envelope(message_id: str, body: str, *, created: int = 1_000, not_before: int = 1_000) -> Envelope:
    return Envelope(
        id=message_id,
        destination=URL,
        body=body,
        created_at=created,
        not_before=not_before,
        max_retries=3,
        timeout=30,
    )


def _step(seq: int, step_id: int, *, kind: MessageKind = MessageKind.STEP, not_before: int = 1_000, **extra):
    body = json.dumps({"stepId": step_id, "stepName": f"s{step_id}", "stepType": "Run", "out": str(step_id)})
    return RunMessage(
        seq=seq,
        message_id=f"m{seq}",
        kind=kind,
        envelope=_envelope(f"m{seq}", body, not_before=not_before),
        dedup_key=f"S{step_id}",
        step=StepInfo(step_id, f"s{step_id}", "Run"),
        **extra,
    )


def _run(state: RunState = RunState.RUNNING) -> Run:
    return Run(run_id="wfr_1", url=URL, state=state, created_at=0, updated_at=0)


def test_a_private_workflow_url_is_allowed_only_where_private_destinations_are():
    headers = {"Upstash-Workflow-RunId": "wfr_1", "Upstash-Workflow-Url": "http://127.0.0.1:9/wf"}
    assert parse_workflow_headers(headers, allow_private=True).url == "http://127.0.0.1:9/wf"


def test_a_publish_without_a_run_id_is_no_workflow_message():
    assert parse_workflow_headers({"Content-Type": "application/json"}) is None


@pytest.mark.parametrize(
    ("headers", "field"),
    [
        ({"Upstash-Workflow-RunId": "wfr 1", "Upstash-Workflow-Url": URL}, "Upstash-Workflow-RunId"),
        (
            {"Upstash-Workflow-RunId": "wfr_1", "Upstash-Workflow-Init": "yes", "Upstash-Workflow-Url": URL},
            "Upstash-Workflow-Init",
        ),
        ({"Upstash-Workflow-RunId": "wfr_1", "Upstash-Workflow-Url": "ftp://x"}, "Upstash-Workflow-Url"),
        # Every later step goes to the workflow's URL: the SSRF rule applies to it too.
        (
            {
                "Upstash-Workflow-RunId": "wfr_1",
                "Upstash-Workflow-Url": "http://169.254.169.254/latest/meta-data",
            },
            "Upstash-Workflow-Url",
        ),
        (
            {"Upstash-Workflow-RunId": "wfr_1", "Upstash-Workflow-Url": "http://127.0.0.1:9/wf"},
            "Upstash-Workflow-Url",
        ),
    ],
)
def test_malformed_workflow_headers_are_refused_naming_the_header(headers, field):
    with pytest.raises(InvalidInput) as refused:
        parse_workflow_headers(headers)
    assert refused.value.field == field


def test_messages_are_classified_by_init_and_call_type():
    base = {"upstash-workflow-runid": "wfr_1", "upstash-workflow-url": URL}
    assert parse_workflow_headers({**base, "Upstash-Workflow-Init": "true"}).kind is MessageKind.INITIAL
    assert (
        parse_workflow_headers({**base, "Upstash-Workflow-CallType": "toCallback"}).kind is MessageKind.CALL
    )
    assert parse_workflow_headers(base).kind is MessageKind.STEP


def test_a_step_message_must_carry_step_id_name_and_type():
    with pytest.raises(InvalidInput):
        step_info(MessageKind.STEP, _envelope("m", '{"stepName": "x"}'))
    plan = step_info(
        MessageKind.STEP, _envelope("m", '{"stepId": 0, "stepName": "p", "stepType": "Run", "targetStep": 2}')
    )
    assert plan.dedup_key == "P2", "plan steps are one per target step"


@pytest.mark.parametrize(
    "step",
    [
        '{"stepId": true, "stepName": "s", "stepType": "Run"}',
        '{"stepId": "1_0", "stepName": "s", "stepType": "Run"}',
        '{"stepId": "1", "stepName": "s", "stepType": "Run"}',
        '{"stepId": 2.9, "stepName": "s", "stepType": "Run"}',
        '{"stepId": -5, "stepName": "s", "stepType": "Run"}',
        '{"stepId": Infinity, "stepName": "s", "stepType": "Run"}',
        '{"stepId": 1, "stepName": null, "stepType": "Run"}',
        "[1, 2]",
    ],
)
def test_a_step_id_is_a_json_number_from_0_and_its_name_and_type_strings(step):
    # Coerced, `true` would be step 1 (one dedup key for two steps) and null the name "None".
    with pytest.raises(InvalidInput):
        step_info(MessageKind.STEP, _envelope("m", step))
    invoke = {"workflowRunId": "wfr_p", "workflowUrl": URL, "headers": {}, "body": ""}
    with pytest.raises(InvalidInput):
        parse_invoke(f'{{"step": {step}, {json.dumps(invoke)[1:]}'.encode())


def test_a_step_type_is_a_string():
    with pytest.raises(InvalidInput):
        step_info(MessageKind.STEP, _envelope("m", '{"stepId": 1, "stepName": "s", "stepType": {"a": 1}}'))


def test_the_delivery_is_the_initial_payload_then_steps_up_to_this_message_in_order():
    initial = RunMessage(0, "m0", MessageKind.INITIAL, _envelope("m0", '{"name": "ada"}'), "INIT")
    call = RunMessage(2, "m2", MessageKind.CALL, _envelope("m2", '{"to": "third party"}'), "C2")
    messages = [initial, _step(1, 1), call, _step(3, 2), _step(4, 3)]

    items = json.loads(delivery_body(messages, upto_seq=3))

    assert [item["messageId"] for item in items] == ["m0", "m1", "m3"], "call items left out, later ones too"
    assert base64.b64decode(items[0]["body"]) == b'{"name": "ada"}'
    assert json.loads(base64.b64decode(items[2]["body"]))["stepId"] == 2
    assert {item["callType"] for item in items} == {"step"}


def test_next_action_delivers_the_following_message_waiting_out_its_delay():
    messages = [_step(0, 1), _step(1, 2, not_before=8_500)]
    assert next_action(_run(), messages, 0, now_ms=1_000) == {
        "action": "deliver",
        "messageId": "m1",
        "delaySeconds": 8,
    }
    assert next_action(_run(), messages, 0, now_ms=9_000) == {"action": "deliver", "messageId": "m1"}


def test_sleep_until_waits_for_a_timestamp():
    messages = [_step(0, 1), _step(1, 2, not_before=1_800_000_000_000, not_before_header=True)]
    action = next_action(_run(), messages, 0, now_ms=1_000)
    assert action == {"action": "deliver", "messageId": "m1", "notBefore": "2027-01-15T08:00:00Z"}


def test_after_the_last_message_a_finished_run_ends_and_an_unfinished_one_stalls():
    messages = [_step(0, 1)]
    assert next_action(_run(RunState.SUCCESS), messages, 0, now_ms=0) == {"action": "finish"}
    assert next_action(_run(), messages, 0, now_ms=0) == {"action": "stalled"}


def test_a_js_call_names_its_run_only_in_the_callback_headers():
    headers = {
        "Upstash-Workflow-CallType": "toCallback",
        "Upstash-Callback-Workflow-RunId": "wfr_js",
        "Upstash-Callback-Workflow-Url": URL,
    }
    parsed = parse_workflow_headers(headers)
    assert (parsed.run_id, parsed.url, parsed.kind) == ("wfr_js", URL, MessageKind.CALL)


def _wait(seq: int, step_id: int, *, deadline: int | None = 31_000) -> RunMessage:
    message = _step(seq, step_id, kind=MessageKind.WAIT)
    return dataclasses.replace(
        message, dedup_key=f"W{step_id}", wait=WaitInfo(event_id="e", deadline_ms=deadline)
    )


def test_an_unresolved_wait_makes_the_driver_wait_until_its_deadline():
    messages = [_step(0, 0, kind=MessageKind.INITIAL), _wait(1, 1)]
    assert next_action(_run(), messages, 0, now_ms=1_500) == {
        "action": "wait",
        "messageId": "m1",
        "timeoutSeconds": 30,
    }
    invoke = [messages[0], _wait(1, 1, deadline=None)]
    assert next_action(_run(), invoke, 0, now_ms=1_500)["timeoutSeconds"] == 365 * 86_400


def test_a_resolved_wait_delivers_its_resolution_and_the_driver_goes_on_from_the_wait():
    # Parallel branches: the wait of branch 1 resolves after branch 2's result was appended.
    initial, wait = _step(0, 0, kind=MessageKind.INITIAL), _wait(1, 1)
    other, resolution = _step(2, 2), dataclasses.replace(_step(3, 1), resolves="m1")
    messages = [initial, wait, other, resolution]
    assert next_action(_run(), messages, 0, now_ms=1_000) == {"action": "deliver", "messageId": "m3"}
    assert driver_position(messages, resolution) == 1
    assert next_action(_run(), messages, 1, now_ms=1_000) == {"action": "deliver", "messageId": "m2"}
    assert next_action(_run(RunState.SUCCESS), messages, 2, now_ms=1_000) == {"action": "finish"}
    assert [
        json.loads(base64.b64decode(i["body"]))["stepId"] for i in json.loads(delivery_body(messages, 3))[1:]
    ] == [
        2,
        1,
    ], "the WAIT itself is never in a step array"


def test_a_wait_result_carries_the_event_in_base64_or_says_it_timed_out():
    skeleton = json.dumps({"stepId": 2, "stepName": "w", "stepType": "Wait", "waitEventId": "e"}).encode()
    woken = json.loads(wait_result_body(skeleton, event_data='{"a":1}'))
    assert (base64.b64decode(woken["out"]), woken["waitTimeout"]) == (b'{"a":1}', False)
    timed_out = json.loads(wait_result_body(skeleton, event_data=None))
    assert ("out" in timed_out, timed_out["waitTimeout"]) == (False, True)


def test_an_invoke_result_is_the_child_return_value_and_how_it_ended():
    skeleton = json.dumps({"stepId": 3, "stepName": "i", "stepType": "Invoke", "concurrent": 1}).encode()
    out = json.loads(
        json.loads(invoke_result_body(skeleton, body='{"x":1}', failed=False, canceled=True))["out"]
    )
    assert out == {"body": '{"x":1}', "isFailed": False, "isCanceled": True}


def test_an_invoke_body_is_parsed_or_refused():
    raw = {
        "workflowRunId": "wfr_parent",
        "workflowUrl": URL,
        "headers": {"Upstash-Workflow-Runid": ["wfr_parent"]},
        "step": {"stepId": 2, "stepName": "call-child", "stepType": "Invoke", "concurrent": 1},
        "body": '{"n":1}',
    }
    invoke = parse_invoke(json.dumps(raw).encode())
    assert (invoke.parent_run_id, invoke.parent_headers, invoke.body) == (
        "wfr_parent",
        {"Upstash-Workflow-Runid": "wfr_parent"},
        '{"n":1}',
    )
    with pytest.raises(InvalidInput):
        parse_invoke(json.dumps({**raw, "step": {}}).encode())
    with pytest.raises(InvalidInput):
        parse_invoke(b"not json")


def test_a_run_continues_in_a_new_execution_each_time_it_crosses_the_messages_per_execution():
    from ferry.domain.workflow_driver import continuation_name

    assert continuation_name("wfr_a", 998, 999, 1_000) is None
    assert continuation_name("wfr_a", 999, 1_000, 1_000) == "wfr_a-c1"
    assert continuation_name("wfr_a", 1_000, 1_001, 1_000) is None
    # A wait's resolution is delivered in its WAIT's place: the jump can cross a boundary too.
    assert continuation_name("wfr_a", 1_990, 2_004, 1_000) == "wfr_a-c2"
