"""PublishMessage and DeadLetters on the in-memory twins: what is stored, what is enqueued, and
that a refused or failed request changes nothing."""

from __future__ import annotations

import pytest

from ferry.adapters.memory.delays import InMemoryDelays
from ferry.adapters.memory.target import answers
from ferry.domain.delivery import AttemptResult
from ferry.domain.envelope import Envelope
from ferry.domain.errors import InvalidInput, NotFound, Unavailable
from ferry.domain.history import MAX_STORED_BODY_BYTES, DeadLetterEntry
from ferry.domain.queries import Query
from ferry.usecases.dead_letters import DeadLetters
from ferry.usecases.publish_message import PublishMessage
from tests.support.twins import URL, World


class BrokenQueue:
    """A queue whose every send fails (the SQS outage a publish must survive cleanly)."""

    def send(self, envelope: Envelope, *, delay_seconds: int) -> None:
        raise ConnectionError("SQS is unreachable")


def test_a_publish_records_created_and_enqueues_with_its_delay():
    world = World()
    result = world.publish(destination=URL, headers={"Upstash-Delay": "30s"}, body=b"hi")
    assert result.url == URL and not result.deduplicated
    [created] = world.history.events(result.message_id)
    assert created.state == "CREATED" and created.next_delivery_ms == world.clock.now() * 1000 + 30_000
    [queued] = world.queue.pending()
    assert queued.id == result.message_id and queued.body_bytes() == b"hi"
    assert world.queue.visible_at(result.message_id) == world.clock.now() + 30


def test_a_repeated_deduplication_id_answers_with_the_first_message_and_enqueues_nothing():
    world = World()
    first = world.publish(destination=URL, headers={"Upstash-Deduplication-Id": "d1"}, body=b"a")
    again = world.publish(destination=URL, headers={"Upstash-Deduplication-Id": "d1"}, body=b"a")
    assert again.message_id == first.message_id and again.deduplicated
    assert len(world.queue.pending()) == 1


def test_a_refused_publish_stores_and_enqueues_nothing():
    world = World()
    with pytest.raises(InvalidInput):
        world.publish(destination=URL, headers={"Upstash-Retries": "lots"}, body=b"a")
    assert world.queue.pending() == [] and world.history.query_events(Query()) == []


def test_a_failed_enqueue_is_unavailable_and_frees_the_deduplication_id():
    world = World()
    broken = PublishMessage(
        queue=BrokenQueue(), history=world.history, dedup=world.dedup, clock=world.clock, limits=world.limits,
        allow_private_destinations=False, new_id=world.new_id,
    )  # fmt: skip
    with pytest.raises(Unavailable):
        broken(destination=URL, headers={"Upstash-Deduplication-Id": "d2"}, body=b"a")
    retried = world.publish(destination=URL, headers={"Upstash-Deduplication-Id": "d2"}, body=b"a")
    assert not retried.deduplicated


def test_a_delay_beyond_sqs_goes_to_the_delay_scheduler_when_it_fits():
    world = World()
    delays = InMemoryDelays()
    publish = PublishMessage(
        queue=world.queue, history=world.history, dedup=world.dedup, clock=world.clock, limits=world.limits,
        allow_private_destinations=False, delays=delays, new_id=world.new_id,
    )  # fmt: skip
    held = publish(destination=URL, headers={"Upstash-Delay": "2h"}, body=b"later")
    assert list(delays.scheduled) == [held.message_id] and world.queue.pending() == []
    hopping = publish(destination=URL, headers={"Upstash-Delay": "2h"}, body=b"x" * 300_000)
    assert [e.id for e in world.queue.pending()] == [hopping.message_id]


def test_a_publish_to_a_url_group_makes_one_message_per_endpoint():
    world = World()
    world.groups.upsert_endpoints(
        "team", {"endpoints": [{"url": "https://a.example/"}, {"url": "https://b.example/"}]}
    )
    results = world.publish.to_group(group="team", headers={}, body=b"all")
    assert sorted(r.url for r in results) == ["https://a.example/", "https://b.example/"]
    assert {e.url_group for e in world.queue.pending()} == {"team"}
    with pytest.raises(NotFound):
        world.publish.to_group(group="nobody", headers={}, body=b"all")


def dead_lettered(world: World, **headers: str) -> tuple[str, DeadLetterEntry]:
    world.target.route(URL, answers(AttemptResult(status=500, body=b"no")))
    message_id = world.send(headers={"Upstash-Retries": "0", **headers})
    world.dispatch()
    [entry] = world.history.query_dead_letters(Query(filters={"messageId": (message_id,)}))
    return message_id, entry


def test_a_dead_letter_is_listed_got_and_deleted_once():
    world = World()
    _, entry = dead_lettered(world)
    entries, cursor = world.dead_letters.list(Query())
    assert [e.dlq_id for e in entries] == [entry.dlq_id] and cursor is None
    assert world.dead_letters.get(entry.dlq_id) == entry
    world.dead_letters.delete(entry.dlq_id)
    with pytest.raises(NotFound):
        world.dead_letters.delete(entry.dlq_id)
    with pytest.raises(NotFound):
        world.dead_letters.get(entry.dlq_id)


def test_a_retry_is_a_new_message_with_a_fresh_budget_and_the_entry_is_gone():
    world = World()
    original, entry = dead_lettered(world)
    result = world.dead_letters.retry(entry.dlq_id, {"Upstash-Retries": "2"})
    assert result.message_id != original
    [queued] = world.queue.pending()
    assert queued.id == result.message_id and queued.max_retries == 2 and queued.retried_offset == 0
    assert queued.dlq_id is None
    assert world.states(result.message_id) == ["CREATED"]
    with pytest.raises(NotFound):
        world.dead_letters.retry(entry.dlq_id)


def test_a_bad_retry_override_leaves_the_entry_in_the_dlq():
    world = World()
    _, entry = dead_lettered(world)
    with pytest.raises(InvalidInput):
        world.dead_letters.retry(entry.dlq_id, {"Upstash-Retries": "-1"})
    assert world.dead_letters.get(entry.dlq_id) == entry


def test_an_entry_whose_body_was_too_large_to_keep_is_not_retried_through_the_api():
    world = World()
    _, entry = dead_lettered(world)
    too_large = entry.envelope.model_copy(update={"body": "x" * (MAX_STORED_BODY_BYTES + 1)})
    big = DeadLetterEntry(dlq_id="dlq_big", envelope=too_large, time_ms=entry.time_ms, reason="r")
    world.history.put_dead_letter(big)
    with pytest.raises(InvalidInput, match="redrive it from the SQS dead-letter queue"):
        world.dead_letters.retry("dlq_big")
    assert world.dead_letters.get("dlq_big") is not None


def test_a_retry_that_cannot_be_enqueued_puts_the_entry_back():
    world = World()
    _, entry = dead_lettered(world)
    broken = DeadLetters(
        history=world.history, queue=BrokenQueue(), clock=world.clock, limits=world.limits,
        allow_private=False, new_id=lambda: "msg_lost",
    )  # fmt: skip
    with pytest.raises(Unavailable):
        broken.retry(entry.dlq_id)
    assert world.dead_letters.get(entry.dlq_id) == entry
    assert world.states("msg_lost") == ["CREATED", "CANCELED"]


def test_bulk_retry_and_delete_skip_entries_already_gone():
    world = World()
    _, first = dead_lettered(world)
    _, second = dead_lettered(world)
    assert sorted(world.dead_letters.select()) == sorted([first.dlq_id, second.dlq_id])
    run = world.dead_letters.retry_many([first.dlq_id, "dlq_unknown"])
    assert len(run.results) == 1 and run.complete
    deleted = world.dead_letters.delete_many([first.dlq_id, second.dlq_id])
    assert deleted.results == [True]
