"""The History port's contract: what InMemoryHistory and DynamoHistory (on moto) both do."""

from __future__ import annotations

import uuid

import pytest

from ferry.adapters.memory.clock import ManualClock
from ferry.domain.envelope import Envelope, FlowControl
from ferry.domain.history import (
    MAX_STORED_BODY_BYTES,
    MAX_STORED_HEADER_BYTES,
    MAX_STORED_RESPONSE_BYTES,
    DeadLetterEntry,
    LogEvent,
    State,
)
from ferry.domain.queries import Query
from ferry.usecases.ports import History
from tests.support.bodies import order_event_json, random_text, repeated_text

T0 = 1_800_000_000_000


@pytest.fixture
def history(kind: str, clock: ManualClock, request: pytest.FixtureRequest) -> History:
    if kind == "memory":
        from ferry.adapters.memory.history import InMemoryHistory

        return InMemoryHistory()
    from ferry.adapters.dynamo_history import DynamoHistory

    aws = request.getfixturevalue("aws")
    return DynamoHistory(
        aws.dynamodb,
        table_name=request.getfixturevalue("table_name"),
        retention_days=7,
        dlq_retention_days=14,
        clock=clock,
    )


@pytest.fixture
def url() -> str:
    """A destination of this test only, so filters by it see only this test's records."""
    return f"https://{uuid.uuid4().hex[:12]}.example/hook"


def envelope(url: str, **fields) -> Envelope:
    base = dict(
        id="msg_" + uuid.uuid4().hex, destination=url, created_at=T0, not_before=T0, max_retries=3,
        timeout=30, body="hello", labels=("b", "a"), flow_control=FlowControl(key="k1", parallelism=2),
    )  # fmt: skip
    return Envelope(**{**base, **fields})


def created(history: History, message: Envelope, time_ms: int = T0) -> None:
    history.message_created(message, LogEvent.of(message, State.CREATED, time_ms, next_delivery_ms=time_ms))


def test_a_created_message_is_read_back_whole_with_its_created_event(history, url):
    message = envelope(url, headers={"Content-Type": "text/plain"})
    created(history, message)
    assert history.get_envelope(message.id) == message
    [event] = history.events(message.id)
    assert event.state is State.CREATED and event.time_ms == T0 and event.next_delivery_ms == T0
    assert event.url == url and event.flow_control_key == "k1"
    assert history.state(message.id) == "CREATED"


@pytest.mark.parametrize(
    "body",
    [order_event_json(1024), random_text(1024), repeated_text(5000)],
    ids=["1KB-json", "1KB-random", "5KB-repeated"],
)
def test_a_message_of_any_body_is_read_back_byte_for_byte(history, url, body):
    message = envelope(url, body=body, headers={"Content-Type": "application/json"})
    created(history, message)
    assert history.get_envelope(message.id) == message


def test_an_unknown_message_has_no_envelope_no_events_and_no_state(history):
    assert history.get_envelope("msg_nope") is None
    assert history.events("msg_nope") == []
    assert history.state("msg_nope") is None


def test_a_body_too_large_to_keep_is_left_out_of_the_stored_message(history, url):
    message = envelope(url, body="x" * (MAX_STORED_BODY_BYTES + 1))
    created(history, message)
    assert history.get_envelope(message.id).body == ""


def test_events_come_back_oldest_first_with_one_writes_order_kept_and_the_state_is_the_newest(history, url):
    message = envelope(url)
    created(history, message)
    history.record(
        message,
        [
            LogEvent.of(message, State.ACTIVE, T0 + 5),
            LogEvent.of(message, State.ERROR, T0 + 9, retried=0, response_status=500, error="HTTP 500"),
            LogEvent.of(message, State.RETRY, T0 + 9, next_delivery_ms=T0 + 12_000),
        ],
    )
    assert [e.state for e in history.events(message.id)] == ["CREATED", "ACTIVE", "ERROR", "RETRY"]
    assert history.state(message.id) == "RETRY"


def test_an_attempts_response_is_kept_clipped_with_numbers_as_numbers(history, url):
    message = envelope(url)
    created(history, message)
    body = b"\xff\x00" + b"y" * (MAX_STORED_RESPONSE_BYTES + 100)
    history.record(
        message,
        [
            LogEvent.of(
                message, State.ERROR, T0 + 1, retried=2, response_status=503,
                response_headers={"Retry-After": "7"}, response_body=body, error="e" * 5_000,
            )
        ],
    )  # fmt: skip
    error = history.events(message.id)[-1]
    assert error.response_status == 503 and isinstance(error.response_status, int)
    assert error.retried == 2 and isinstance(error.time_ms, int)
    assert error.response_headers == {"Retry-After": "7"}
    assert error.response_body == body[:MAX_STORED_RESPONSE_BYTES]
    assert len(error.error) == 2_000
    assert error.labels == ("a", "b")  # a set in storage


def test_an_attempts_response_headers_are_kept_up_to_their_budget(history, url):
    # A destination may answer 100 header lines of 64 KiB: stored whole, the item would pass
    # DynamoDB's 400 KB and the history write fail.
    message = envelope(url)
    created(history, message)
    headers = {f"X-Big-{i}": "v" * 8_000 for i in range(100)}
    history.record(
        message, [LogEvent.of(message, State.ERROR, T0 + 1, response_status=500, response_headers=headers)]
    )
    kept = history.events(message.id)[-1].response_headers
    assert list(kept) == [f"X-Big-{i}" for i in range(len(kept))] and 0 < len(kept) < 100
    assert sum(len(k) + len(v) for k, v in kept.items()) <= MAX_STORED_HEADER_BYTES


def test_query_events_filters_and_lists_newest_first(history, url):
    first, second = envelope(url), envelope(url, labels=("only",))
    created(history, first, T0)
    created(history, second, T0 + 10)
    history.record(first, [LogEvent.of(first, State.DELIVERED, T0 + 20, response_status=200)])
    everything = history.query_events(Query(filters={"url": (url,)}))
    assert [(e.message_id, e.state) for e in everything] == [
        (first.id, "DELIVERED"), (second.id, "CREATED"), (first.id, "CREATED"),
    ]  # fmt: skip
    assert [
        e.message_id for e in history.query_events(Query(filters={"url": (url,), "labels": ("only",)}))
    ] == [second.id]
    delivered = Query(filters={"url": (url,), "state": ("DELIVERED",), "responseStatus": ("200",)})
    assert [e.message_id for e in history.query_events(delivered)] == [first.id]
    by_id = history.query_events(Query(filters={"messageId": (second.id,)}))
    assert [e.state for e in by_id] == ["CREATED"]
    window = Query(filters={"url": (url,)}, from_ms=T0 + 5, to_ms=T0 + 15)
    assert [e.message_id for e in history.query_events(window)] == [second.id]
    before_cursor = Query(filters={"url": (url,)}, cursor=T0 + 10)
    assert [e.message_id for e in history.query_events(before_cursor)] == [first.id]


def test_events_of_one_write_in_the_same_millisecond_list_newest_first_in_reverse_write_order(history, url):
    message = envelope(url)
    created(history, message)
    history.record(
        message,
        [
            LogEvent.of(message, State.ACTIVE, T0 + 5),
            LogEvent.of(message, State.ERROR, T0 + 9, error="HTTP 500"),
            LogEvent.of(message, State.RETRY, T0 + 9, next_delivery_ms=T0 + 12_000),
        ],
    )
    listed = history.query_events(Query(filters={"url": (url,)}))
    assert [e.state for e in listed] == ["RETRY", "ERROR", "ACTIVE", "CREATED"]


def test_a_cancel_is_requested_once(history, url):
    message = envelope(url)
    created(history, message)
    assert not history.cancel_requested(message.id)
    assert history.request_cancel(message.id, T0 + 1, message.not_before) is True
    assert history.request_cancel(message.id, T0 + 2, message.not_before) is False
    assert history.cancel_requested(message.id)


def test_a_cancel_is_seen_by_a_check_that_knows_when_the_message_was_created(history, url):
    message = envelope(url)
    created(history, message)
    assert not history.cancel_requested(message.id, message.created_at)
    assert history.request_cancel(message.id, T0 + 1, message.not_before) is True
    assert history.cancel_requested(message.id, message.created_at)


def test_the_latest_schedule_firing_is_kept(history):
    schedule = "scd_" + uuid.uuid4().hex
    assert history.last_firing(schedule) is None
    history.schedule_fired(schedule, "msg_a", T0)
    history.schedule_fired(schedule, "msg_b", T0 + 60_000)
    assert history.last_firing(schedule) == ("msg_b", T0 + 60_000)


def dead_letter(message: Envelope, time_ms: int = T0, **fields) -> DeadLetterEntry:
    base = dict(
        dlq_id="dlq_" + uuid.uuid4().hex[:24], envelope=message, time_ms=time_ms, reason="retries exhausted",
        response_status=500, response_headers={"X-Why": "broken"}, response_body=b"server said no",
    )  # fmt: skip
    return DeadLetterEntry(**{**base, **fields})


def test_a_dead_letter_is_read_back_and_taken_exactly_once(history, url):
    entry = dead_letter(envelope(url))
    history.put_dead_letter(entry)
    assert history.get_dead_letter(entry.dlq_id) == entry
    assert history.take_dead_letter(entry.dlq_id) == entry
    assert history.take_dead_letter(entry.dlq_id) is None
    assert history.get_dead_letter(entry.dlq_id) is None


def test_a_restored_dead_letter_comes_back_unless_something_took_its_place(history, url):
    entry = dead_letter(envelope(url))
    history.put_dead_letter(entry)
    taken = history.take_dead_letter(entry.dlq_id)
    history.restore_dead_letter(taken)
    assert history.get_dead_letter(entry.dlq_id) == entry
    newer = dead_letter(entry.envelope, dlq_id=entry.dlq_id, reason="written again meanwhile")
    history.put_dead_letter(newer)
    history.restore_dead_letter(taken)
    assert history.get_dead_letter(entry.dlq_id).reason == "written again meanwhile"


def test_a_dead_letter_with_a_body_too_large_to_keep_says_so(history, url):
    entry = dead_letter(envelope(url, body="x" * (MAX_STORED_BODY_BYTES + 1)))
    history.put_dead_letter(entry)
    stored = history.get_dead_letter(entry.dlq_id)
    assert stored.body_stored is False and stored.envelope.body == ""


def test_dead_letters_are_queried_newest_first_by_filter_and_id(history, url):
    old = dead_letter(envelope(url), T0)
    new = dead_letter(envelope(url, queue="orders"), T0 + 10, response_status=None)
    history.put_dead_letter(old)
    history.put_dead_letter(new)
    assert [e.dlq_id for e in history.query_dead_letters(Query(filters={"url": (url,)}))] == [
        new.dlq_id,
        old.dlq_id,
    ]
    assert [e.dlq_id for e in history.query_dead_letters(Query(filters={"queueName": ("orders",)}))][:1] == [
        new.dlq_id
    ]
    assert [
        e.dlq_id for e in history.query_dead_letters(Query(filters={"dlqId": (old.dlq_id, "dlq_none")}))
    ] == [old.dlq_id]
    assert history.get_dead_letter(new.dlq_id).response_status is None
