"""Queues as pure logic: enqueue creates a missing queue and spreads messages over `parallelism`
FIFO lanes in publish order; held receives are counted apart from attempts."""

from __future__ import annotations

import pytest

from ferry.domain import queues
from ferry.domain.errors import InvalidInput


def test_enqueue_creates_a_missing_queue_with_defaults():
    lane, state = queues.enqueued(None, name="q", now_ms=5)
    assert lane == 0 and state.parallelism == 1 and state.waiting == 1 and state.created_ms == 5


def test_messages_take_lanes_round_robin_in_publish_order():
    state = queues.upsert(None, name="q", parallelism=3, paused=False, now_ms=0)
    lanes = []
    for _ in range(7):
        lane, state = queues.enqueued(state, name="q", now_ms=1)
        lanes.append(lane)
    assert lanes == [0, 1, 2, 0, 1, 2, 0]
    assert [queues.message_group("q", lane) for lane in (0, 2)] == ["q", "q~2"]


def test_held_receives_are_counted_and_taken_once():
    state = queues.new_queue("q", 0)
    before, state = queues.note_held(state, "m")
    before2, state = queues.note_held(state, "m")
    assert (before, before2) == (0, 1)
    held, state = queues.take_held(state, "m")
    assert held == 2 and state.held == {}
    assert queues.take_held(state, "m")[0] == 0


@pytest.mark.parametrize("name", ["", "a b", "x/y", "q" * 81, "ünïcode"])
def test_illegal_queue_names_are_refused(name):
    with pytest.raises(InvalidInput) as caught:
        queues.check_queue_name(name)
    assert caught.value.field == "queueName"


@pytest.mark.parametrize("parallelism", [0, -1, 101, True, 1.5, "2"])
def test_bad_parallelism_is_refused(parallelism):
    with pytest.raises(InvalidInput) as caught:
        queues.upsert(None, name="q", parallelism=parallelism, paused=False, now_ms=0)
    assert caught.value.field == "parallelism"


def test_the_queue_object_has_every_field_the_sdk_reads():
    state = queues.upsert(None, name="q", parallelism=2, paused=True, now_ms=7)
    body = queues.queue_body(state, 8)
    assert {"name", "parallelism", "createdAt", "updatedAt", "lag", "paused"} <= set(body)
    assert body["parallelism"] == 2 and body["paused"] is True
