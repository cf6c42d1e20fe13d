"""Queues against `ferry dev` with a real HTTP target: parallelism is a hard cap seen at the target,
parallelism 1 keeps publish order through retries, pause holds without loss."""

from __future__ import annotations

import random
import time

import pytest

from tests.support.pending import queued
from tests.support.stack_api import api
from tests.support.target import Reply, Target
from tests.support.waiting import wait_until


def enqueue(stack, queue: str, url: str, body: bytes, **headers: str) -> str:
    status, answer = api(stack, "POST", f"/v2/enqueue/{queue}/{url}", body, headers)
    assert status in (200, 201), answer
    return answer["messageId"]


def max_concurrency(requests) -> int:
    """The most deliveries the target was serving at once, from when it began and finished each
    (an answer sent at the instant another request began does not overlap it)."""
    events = sorted([(r.started, 1) for r in requests] + [(r.at, -1) for r in requests])
    now = peak = 0
    for _, step in events:
        now += step
        peak = max(peak, now)
    return peak


@pytest.fixture
def queue_name(path: str) -> str:
    return path.strip("/")[:60].replace("-", "_")


def test_the_queues_api_upserts_lists_pauses_and_deletes(stack, qstash, queue_name):
    qstash.queue.upsert(queue_name, parallelism=2)
    got = qstash.queue.get(queue_name)
    assert (got.name, got.parallelism, got.paused, got.lag) == (queue_name, 2, False, 0)
    qstash.queue.pause(queue_name)
    assert qstash.queue.get(queue_name).paused is True
    qstash.queue.resume(queue_name)
    assert qstash.queue.get(queue_name).paused is False
    assert queue_name in [q.name for q in qstash.queue.list()]
    qstash.queue.delete(queue_name)
    assert queue_name not in [q.name for q in qstash.queue.list()]
    assert api(stack, "GET", f"/v2/queues/{queue_name}")[0] == 404


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"queueName": "q", "parallelism": 0}, "parallelism"),
        ({"queueName": "q", "parallelism": -3}, "parallelism"),
        ({"queueName": "q", "parallelism": 1.5}, "parallelism"),
        ({"queueName": "q", "parallelism": "2"}, "parallelism"),
        ({"queueName": "q", "parallelism": 101}, "parallelism"),
        ({"queueName": "bad name!", "parallelism": 1}, "queueName"),
        ({"queueName": "q", "speed": 1}, "speed"),
        ({"parallelism": 1}, "queueName"),
    ],
)
def test_bad_queue_input_is_refused_naming_the_field_and_changes_nothing(stack, body, field):
    status, answer = api(stack, "POST", "/v2/queues", body)
    assert status == 400 and answer["field"] == field, answer
    assert api(stack, "GET", "/v2/queues/q")[0] == 404


@pytest.mark.parametrize("name", ["bad%20name!", "q" * 81, "bad%2Fname", "bad*name"])
def test_an_illegal_queue_name_in_an_enqueue_is_refused_naming_it_and_nothing_is_enqueued(
    stack, target: Target, path, name
):
    status, answer = api(stack, "POST", f"/v2/enqueue/{name}/{target.url(path)}", b"x")
    assert status == 400 and answer["field"] == "queueName", answer
    _, queues = api(stack, "GET", "/v2/queues")
    assert all(q["name"] not in (name, "bad") for q in queues)
    time.sleep(1)
    assert target.requests_to(path) == []


def test_enqueue_to_an_unknown_queue_creates_it_and_to_a_deleted_one_recreates_it(
    stack, qstash, target: Target, path, queue_name
):
    enqueue(stack, queue_name, target.url(path), b"1")
    target.wait_for(path, 1)
    assert qstash.queue.get(queue_name).parallelism == 1
    qstash.queue.delete(queue_name)
    enqueue(stack, queue_name, target.url(path), b"2")
    target.wait_for(path, 2)
    assert qstash.queue.get(queue_name).name == queue_name


def test_parallelism_three_caps_deliveries_at_three_and_uses_more_than_one(
    stack, qstash, target: Target, path, queue_name
):
    target.always(path, Reply(delay=0.7))
    qstash.queue.upsert(queue_name, parallelism=3)
    started = time.time()
    for i in range(12):
        enqueue(stack, queue_name, target.url(path), str(i).encode())
    received = target.wait_for(path, 12, timeout=30)
    elapsed = time.time() - started
    peak = max_concurrency(received)
    assert 2 <= peak <= 3, peak
    # Well under serial time (8.4 s): three at once take about 2.8 s; half of serial leaves room
    # for a loaded machine but not for deliveries that only ever overlap by accident.
    assert elapsed < 12 * 0.7 / 2, elapsed
    assert sorted(int(r.body) for r in received) == list(range(12))
    # Above 1, messages start in publish order: the first three start first, and each lane (every
    # third message, round-robin) starts its next message only after the previous one ended.
    by_body = {int(r.body): r for r in received}
    assert {int(r.body) for r in sorted(received, key=lambda r: r.started)[:3]} == {0, 1, 2}
    for i in range(12 - 3):
        assert by_body[i + 3].started >= by_body[i].at, (i, by_body[i + 3].started - by_body[i].at)


def test_parallelism_one_keeps_order_while_the_head_retries(stack, qstash, target: Target, path, queue_name):
    third = path + "-3"
    qstash.queue.upsert(queue_name, parallelism=1)
    target.script(third, Reply(status=500), Reply(status=500))
    urls = [target.url(third if i == 3 else path) for i in range(1, 9)]
    for i, url in enumerate(urls, start=1):
        enqueue(stack, queue_name, url, str(i).encode(), **{"Upstash-Retry-Delay": "200"})
    target.wait_for(path, 7, timeout=40)
    attempts_of_third = target.wait_for(third, 3)
    assert len(attempts_of_third) == 3  # failed twice, then succeeded
    third_ok = attempts_of_third[2]
    successes = sorted([*target.requests_to(path), third_ok], key=lambda r: r.started)
    assert [int(r.body) for r in successes] == list(range(1, 9))
    fourth = next(r for r in target.requests_to(path) if r.body == b"4")
    assert fourth.started > third_ok.at, (fourth.started, third_ok.at)


def test_a_paused_queue_holds_its_messages_and_resume_delivers_them_all(
    stack, qstash, target: Target, path, queue_name
):
    qstash.queue.upsert(queue_name, parallelism=1, paused=True)
    paused_at = time.time()
    for i in range(5):
        enqueue(stack, queue_name, target.url(path), str(i).encode())
    # Held, not just not yet seen: the head was received and hidden twice while the queue is paused,
    # for the 4 s issue 11 names.
    wait_until(lambda: any(m.receive_count >= 2 for m in queued(stack, target.url(path))), what="holds")
    time.sleep(max(0.0, paused_at + 4 - time.time()))
    assert target.requests_to(path) == []
    assert qstash.queue.get(queue_name).lag == 5
    qstash.queue.resume(queue_name)
    received = target.wait_for(path, 5, timeout=40)
    assert [int(r.body) for r in received] == [0, 1, 2, 3, 4]
    wait_until(lambda: qstash.queue.get(queue_name).lag == 0, what="lag back to 0")


def test_forty_messages_through_a_paused_then_resumed_queue_end_exactly_once(
    stack, qstash, services, target: Target, path, queue_name
):
    # Each message's own destination fails 30 % of its attempts at random (seeded: with seed 4,
    # messages 26 and 32 fail all 4 attempts, so both endings are exercised every run).
    rng = random.Random(4)
    scripts = [[500 if rng.random() < 0.3 else 200 for _ in range(4)] for _ in range(40)]
    dead = {i for i, script in enumerate(scripts) if script == [500] * 4}
    assert dead == {26, 32}
    for i, script in enumerate(scripts):
        target.script(f"{path}/{i}", *(Reply(status=status) for status in script))
    qstash.queue.upsert(queue_name, parallelism=4, paused=True)
    ids = [
        enqueue(
            stack,
            queue_name,
            target.url(f"{path}/{i}"),
            str(i).encode(),
            **{"Upstash-Retries": "3", "Upstash-Retry-Delay": "100"},
        )
        for i in range(40)
    ]
    # Held, not just not yet seen: a lane head (message 0) was received and hidden while paused.
    wait_until(
        lambda: any(m.receive_count for m in queued(stack, target.url(f"{path}/0"))), what="a held head"
    )
    assert not any(target.requests_to(f"{path}/{i}") for i in range(40)), "a paused queue delivered"
    assert qstash.queue.get(queue_name).lag == 40
    qstash.queue.resume(queue_name)

    def finished() -> dict[str, str] | None:
        states = {i: services.history.state(i) for i in ids}
        return states if all(s in ("DELIVERED", "FAILED") for s in states.values()) else None

    states = wait_until(finished, timeout=90, interval=0.5, what="every message delivered or failed")
    # (A head held while paused once lost those receives from its retry budget: messages 0 and 3
    # were dead-lettered after 2 attempts.)
    assert {i for i, message_id in enumerate(ids) if states[message_id] == "FAILED"} == dead
    everything = []
    for i, message_id in enumerate(ids):
        # Attempts up to and including the first 200, or all four: never one more.
        expected = scripts[i][: scripts[i].index(200) + 1] if i not in dead else [500] * 4
        # (The target files a request just after answering it, so the last may still be on its way.)
        attempts = target.wait_for(f"{path}/{i}", len(expected))
        everything += attempts
        assert [r.answered for r in attempts] == expected, (i, message_id)
        _status, answer = api(stack, "GET", f"/v2/events?messageId={message_id}&count=100")
        terminal = [e["state"] for e in answer["events"] if e["state"] in ("DELIVERED", "FAILED")]
        assert terminal == [states[message_id]], (message_id, terminal)
        _status, in_dlq = api(stack, "GET", f"/v2/dlq?messageId={message_id}")
        assert [m["messageId"] for m in in_dlq["messages"]] == ([message_id] if i in dead else [])
    assert max_concurrency(everything) <= 4


def test_resume_wakes_a_long_paused_head_at_once(stack, qstash, target: Target, path, queue_name):
    """Paused heads back off for longer and longer (few receives while paused); resume makes them
    visible again immediately instead of at the end of their hold."""
    qstash.queue.upsert(queue_name, paused=True)
    enqueue(stack, queue_name, target.url(path), b"late")

    def in_its_fourth_hold() -> bool:  # held for 1, 2, 4 s, now for 8 s (from about 7 s on)
        return any(m.receive_count >= 4 and m.hidden_for > 5 for m in queued(stack, target.url(path)))

    wait_until(in_its_fourth_hold, timeout=30, what="the fourth, 8 s hold")
    resumed = time.time()
    qstash.queue.resume(queue_name)
    [received] = target.wait_for(path, 1, timeout=30)
    assert received.at - resumed < 4, received.at - resumed
