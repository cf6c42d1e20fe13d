"""Flow control against `ferry dev` with a real HTTP target: per key, parallelism caps in-flight
calls, rate caps starts per period, a 429/503 slows the whole key; the management API as the
official SDK drives it."""

from __future__ import annotations

import time

from qstash.message import FlowControl

from tests.integration.test_queues import api, max_concurrency
from tests.support.pending import settled
from tests.support.target import Reply, Target
from tests.support.waiting import wait_until


def publish(stack, url: str, body: bytes, key: str, value: str, **headers: str) -> str:
    status, answer = api(
        stack,
        "POST",
        f"/v2/publish/{url}",
        body,
        {"Upstash-Flow-Control-Key": key, "Upstash-Flow-Control-Value": value, **headers},
    )
    assert status in (200, 201), answer
    return answer["messageId"]


def key_of(path: str) -> str:
    return "fc" + path.replace("/", "-")[:200]


def test_parallelism_two_runs_exactly_two_at_once(stack, qstash, target: Target, path):
    target.always(path, Reply(delay=0.6))
    for i in range(10):
        publish(stack, target.url(path), str(i).encode(), key_of(path), "parallelism=2")
    received = target.wait_for(path, 10, timeout=40)
    assert max_concurrency(received) == 2
    assert sorted(int(r.body) for r in received) == list(range(10))
    info = qstash.flow_control.get(key_of(path))
    assert (info.parallelism_max, info.wait_list_size) == (2, 0)
    wait_until(lambda: qstash.flow_control.get(key_of(path)).parallelism_count == 0, what="slots back")


def test_rate_three_per_second_never_starts_more_than_three_in_any_second(stack, target: Target, path):
    for i in range(12):
        publish(stack, target.url(path), str(i).encode(), key_of(path), "rate=3, period=1")
    starts = sorted(r.started for r in target.wait_for(path, 12, timeout=40))
    for i, first in enumerate(starts):
        in_window = [t for t in starts[i:] if t < first + 1.0]
        assert len(in_window) <= 3 + 1, (i, in_window)  # +1 for clock jitter
    assert starts[-1] - starts[0] >= 3.0


def test_a_429_with_retry_after_holds_the_whole_key_then_everything_is_delivered(stack, target: Target, path):
    key = key_of(path)
    first = path + "-first"
    target.script(first, Reply(status=429, headers={"Retry-After": "2"}))
    publish(stack, target.url(first), b"head", key, "parallelism=5")
    [refusal] = target.wait_for(first, 1)
    for i in range(4):
        publish(stack, target.url(path), str(i).encode(), key, "parallelism=5")
    others = target.wait_for(path, 4, timeout=30)
    # Measured from the moment the target sent the 429 (dispatcher and target share a clock; 10 ms
    # for the dispatcher keeping time in whole milliseconds).
    waited = sorted(r.started - refusal.at for r in others)
    assert waited[0] >= 2.0 - 0.01, waited
    retried = target.wait_for(first, 2, timeout=30)[1]  # the refused message itself, once the time passed
    assert retried.started - refusal.at >= 2.0 - 0.01
    assert retried.answered == 200


def test_waiting_never_counts_against_the_retry_budget(stack, services, target: Target, path):
    """Retries 0 and many waiting behind parallelism 1: every message is still delivered."""
    target.always(path, Reply(delay=0.3))
    ids = [
        publish(
            stack,
            target.url(path),
            str(i).encode(),
            key_of(path),
            "parallelism=1",
            **{"Upstash-Retries": "0"},
        )
        for i in range(6)
    ]
    target.wait_for(path, 6, timeout=40)
    wait_until(lambda: all(services.history.state(i) == "DELIVERED" for i in ids), what="all delivered")


def test_the_sdk_manages_a_key_pause_pin_unpin_and_reset_rate(stack, qstash, target: Target, path):
    key = key_of(path)
    target.always(path, Reply(delay=0.2))
    result = qstash.message.publish_json(
        body={"x": 1},
        url=target.url(path),
        flow_control=FlowControl(key=key, parallelism=5, rate=10, period="1m"),
    )
    info = qstash.flow_control.get(key)
    assert (info.key, info.parallelism_max, info.rate_max, info.rate_period) == (key, 5, 10, 60)
    message = qstash.message.get(result.message_id)
    assert (message.flow_control.parallelism, message.flow_control.rate, message.flow_control.period) == (
        5,
        10,
        60,
    )

    qstash.flow_control.pause(key)
    assert qstash.flow_control.get(key).is_paused is True
    qstash.flow_control.resume(key)
    assert qstash.flow_control.get(key).is_paused is False

    qstash.flow_control.pin(key, {"parallelism": 3, "rate": 20, "period": 120})
    pinned = qstash.flow_control.get(key)
    assert (pinned.is_pinned_parallelism, pinned.is_pinned_rate) == (True, True)
    assert (pinned.parallelism_max, pinned.rate_max, pinned.rate_period) == (3, 20, 120)
    # A later message no longer changes what is pinned.
    qstash.message.publish_json(
        body={}, url=target.url(path), flow_control=FlowControl(key=key, parallelism=9)
    )
    assert qstash.flow_control.get(key).parallelism_max == 3
    qstash.flow_control.unpin(key, {"parallelism": True})
    partial = qstash.flow_control.get(key)
    assert (partial.is_pinned_parallelism, partial.is_pinned_rate) == (False, True)

    # Both messages delivered first: one still in flight would count into the reset period (seen
    # once in CI: rate_count 1 after the reset).
    target.wait_for(path, 2, timeout=40)
    qstash.flow_control.reset_rate(key)
    assert qstash.flow_control.get(key).rate_count == 0
    assert key in [k["flowControlKey"] for k in api(stack, "GET", f"/v2/flowControl?search={key[3:]}")[1]]
    assert api(stack, "GET", "/v2/flowControl?search=no-such-key-anywhere")[1] == []
    glob = qstash.flow_control.get_global_parallelism()
    assert glob.parallelism_max > 0 and glob.parallelism_count >= 0


def test_period_defaults_to_one_second_in_message_gets(stack, qstash, target: Target, path):
    results = qstash.message.batch_json(
        [
            {
                "body": {},
                "url": target.url(path),
                "flow_control": FlowControl(key=key_of(path) + "1", rate=1),
            },
            {
                "body": {},
                "url": target.url(path),
                "flow_control": FlowControl(key=key_of(path) + "2", rate=23, period="1h30m3s"),
            },
            {
                "body": {},
                "url": target.url(path),
                "flow_control": FlowControl(key=key_of(path) + "3", parallelism=5),
            },
        ]
    )
    got = [qstash.message.get(r.message_id).flow_control for r in results]
    assert [(f.parallelism, f.rate, f.period) for f in got] == [(None, 1, 1), (None, 23, 5403), (5, None, 1)]
    schedule_id = qstash.schedule.create_json(
        cron="1 1 1 1 *",
        destination=target.url(path),
        body={},
        flow_control=FlowControl(key="k", parallelism=2),
    )
    try:
        control = qstash.schedule.get(schedule_id).flow_control
        assert (control.key, control.parallelism, control.rate, control.period) == ("k", 2, None, 1)
    finally:
        qstash.schedule.delete(schedule_id)


def test_bad_flow_control_input_is_refused_naming_the_field_and_nothing_is_enqueued(
    stack, target: Target, path
):
    cases = [
        ({"Upstash-Flow-Control-Value": "rate=3"}, "Upstash-Flow-Control-Key"),
        (
            {"Upstash-Flow-Control-Key": "k", "Upstash-Flow-Control-Value": "parallelism=0"},
            "Upstash-Flow-Control-Value",
        ),
        (
            {"Upstash-Flow-Control-Key": "k", "Upstash-Flow-Control-Value": "parallelism=x"},
            "Upstash-Flow-Control-Value",
        ),
        (
            {"Upstash-Flow-Control-Key": "k", "Upstash-Flow-Control-Value": "parallelism=101"},
            "Upstash-Flow-Control-Value",
        ),
        (
            {"Upstash-Flow-Control-Key": "k", "Upstash-Flow-Control-Value": "rate=1, period=8d"},
            "Upstash-Flow-Control-Value",
        ),
        (
            {"Upstash-Flow-Control-Key": "bad key!", "Upstash-Flow-Control-Value": "rate=1"},
            "Upstash-Flow-Control-Key",
        ),
    ]
    for headers, field in cases:
        status, answer = api(stack, "POST", f"/v2/publish/{target.url(path)}", b"x", headers)
        assert status == 400 and answer["field"] == field, (headers, answer)
    for query, field in (
        ("parallelism=0", "parallelism"),
        ("rate=abc", "rate"),
        ("period=8d", "period"),
        ("x=1", "x"),
    ):
        status, answer = api(stack, "POST", f"/v2/flowControl/k/pin?{query}")
        assert status == 400 and answer["field"] == field, (query, answer)
    assert settled(stack, target, path) == []


def test_a_dispatcher_killed_mid_delivery_leaks_no_slot(stack, clock, services, target: Target, path):
    """The crash is simulated exactly: a dispatcher takes the key's only slot and never gives it back
    (no `leave`, as when Lambda dies mid-attempt). The next message waits, then starts once the
    lease expires (attempt timeout + margin), moved forward with the stack's clock."""
    from ferry.domain.envelope import Envelope, FlowControl
    from ferry.usecases.flow_control_gate import Admitted
    from ferry.usecases.ports import QueuedMessage

    key = key_of(path)
    crashed = Envelope(
        id="msg_crashed",
        destination=target.url(path),
        created_at=0,
        not_before=0,
        max_retries=0,
        timeout=2,
        flow_control=FlowControl(key=key, parallelism=1, period=1),
    )
    message = QueuedMessage(
        envelope=crashed,
        receive_count=1,
        receipt_handle="r-crashed",
        queue_url="q",
        sqs_message_id="s-crashed",
    )
    assert isinstance(services.gate.enter(message, crashed, retried=0), Admitted)

    publish(stack, target.url(path), b"next", key, "parallelism=1")
    time.sleep(3)
    assert target.requests_to(path) == [], "the slot is still leased"
    with clock.advanced(crashed.timeout + services.gate.lease_margin_seconds):
        target.wait_for(path, 1, timeout=20)


def test_the_flow_control_key_is_in_logs_and_their_filter(stack, target: Target, path):
    key = key_of(path)
    message_id = publish(stack, target.url(path), b"x", key, "rate=100")
    target.wait_for(path, 1)

    def delivered_events():
        _, answer = api(stack, "GET", f"/v2/events?flowControlKey={key}")
        return [e for e in answer["events"] if e["state"] == "DELIVERED"]

    [event] = wait_until(delivered_events, what="the DELIVERED event under the key")
    assert event["messageId"] == message_id and event["flowControlKey"] == key


def test_enqueued_messages_obey_their_key_across_a_wider_queue(stack, qstash, target: Target, path):
    """A queue of parallelism 4 does not widen a key of parallelism 1: enqueue is under flow control."""
    queue = "fcq" + path.replace("/", "_")[:60]
    qstash.queue.upsert(queue, parallelism=4)
    target.always(path, Reply(delay=0.5))
    control = {"Upstash-Flow-Control-Key": key_of(path), "Upstash-Flow-Control-Value": "parallelism=1"}
    for i in range(4):
        status, answer = api(
            stack, "POST", f"/v2/enqueue/{queue}/{target.url(path)}", str(i).encode(), control
        )
        assert status == 200, answer
    received = target.wait_for(path, 4, timeout=40)
    assert max_concurrency(received) == 1
    qstash.queue.delete(queue)


def test_a_dead_letter_keeps_its_key_its_filter_finds_it_and_a_retry_is_held_by_the_key(
    stack, qstash, target: Target, path
):
    key = key_of(path)
    failing, slow = path + "-fails", path + "-slow"
    target.script(failing, Reply(status=500))  # the first attempt fails; the DLQ retry succeeds
    target.always(slow, Reply(delay=1.5))
    dead = publish(stack, target.url(failing), b"dead", key, "parallelism=1", **{"Upstash-Retries": "0"})

    def entry():
        _, answer = api(stack, "GET", f"/v2/dlq?flowControlKey={key}")
        return next((m for m in answer["messages"] if m["messageId"] == dead), None)

    found = wait_until(entry, what="the dead letter under its key")
    assert (found["flowControlKey"], found["parallelism"]) == (key, 1)
    _, other = api(stack, "GET", "/v2/dlq?flowControlKey=no-such-key")
    assert all(m["messageId"] != dead for m in other["messages"])

    # While another message of the key holds its one slot, the retried message waits for it.
    publish(stack, target.url(slow), b"slow", key, "parallelism=1")
    wait_until(lambda: qstash.flow_control.get(key).parallelism_count == 1, what="the slot taken")
    status, retried = api(stack, "POST", f"/v2/dlq/retry/{found['dlqId']}")
    assert status == 201, retried
    _, message = api(stack, "GET", f"/v2/messages/{retried['messageId']}")
    assert message["flowControlKey"] == key
    [slow_request] = target.wait_for(slow, 1, timeout=20)
    redelivered = target.wait_for(failing, 2, timeout=20)[1]
    assert redelivered.started >= slow_request.at, "the retried message started while the slot was taken"
