"""Every branch of the delivery decision, on the in-memory twins with a hand-moved clock."""

from __future__ import annotations

from ferry.adapters.memory.target import answers
from ferry.domain.delivery import AttemptResult
from ferry.domain.envelope import Envelope
from ferry.domain.queries import Query
from ferry.usecases.delivery_pipeline import Delivery, DeliveryReport, Outcome, Proceed
from ferry.usecases.delivery_steps import MAX_VISIBILITY_SECONDS
from tests.support.twins import URL, World

OK = AttemptResult(status=200, body=b"fine")
FAIL = AttemptResult(status=500, body=b"broken")


def world_with(*results: AttemptResult, **kwargs) -> World:
    world = World(**kwargs)
    world.target.route(URL, answers(*results))
    return world


def test_a_2xx_delivers_signs_and_deletes_the_message():
    world = world_with(OK)
    mid = world.send()
    [report] = world.dispatch()
    assert report.outcome is Outcome.DELIVERED and report.retried == 0
    assert world.states(mid) == ["CREATED", "ACTIVE", "DELIVERED"]
    [request] = world.target.requests
    assert request.headers["Upstash-Message-Id"] == mid
    assert request.headers["Upstash-Retried"] == "0"
    assert request.headers["Upstash-Signature"]
    assert world.queue.pending() == []


def test_a_failure_hides_the_message_for_the_backoff_then_retries_with_the_count():
    world = world_with(FAIL, OK)
    mid = world.send()
    [first] = world.dispatch()
    assert first.outcome is Outcome.RETRY_SCHEDULED and first.keeps_message_in_queue
    assert world.states(mid) == ["CREATED", "ACTIVE", "ERROR", "RETRY"]
    # QStash's default backoff: about 12 s before the first retry; nothing is visible before.
    assert world.queue.visible_at(mid) == world.clock.now() + 13
    assert world.dispatch() == []
    world.clock.advance(13)
    [second] = world.dispatch()
    assert second.outcome is Outcome.DELIVERED and second.retried == 1
    assert world.target.requests[-1].headers["Upstash-Retried"] == "1"
    assert world.states(mid)[-1] == "DELIVERED"


def test_spent_retries_dead_letter_with_the_reason_in_history_and_the_sqs_dlq():
    world = world_with(FAIL)
    mid = world.send(headers={"Upstash-Retries": "1"})
    world.dispatch()
    world.clock.advance(3_600)
    [report] = world.dispatch()
    assert report.outcome is Outcome.DEAD_LETTERED
    assert report.reason == "retries exhausted: 2 attempts, last: HTTP 500"
    [entry] = world.history.query_dead_letters(_all())
    assert entry.envelope.id == mid and entry.response_status == 500 and entry.response_body == b"broken"
    assert entry.envelope.retried_offset == 0  # a retry from the DLQ starts with a fresh budget
    [copy] = world.queue.dead_letters
    assert copy.dlq_id == entry.dlq_id and copy.envelope.dlq_id == entry.dlq_id
    assert world.states(mid)[-1] == "FAILED"
    assert world.queue.pending() == []


def test_a_non_retryable_answer_dead_letters_at_once():
    refused = AttemptResult(status=489, headers={"Upstash-NonRetryable-Error": "true"})
    world = world_with(refused)
    world.send()
    [report] = world.dispatch()
    assert report.outcome is Outcome.DEAD_LETTERED
    assert report.reason.startswith("non-retryable error: HTTP 489")


def test_a_cancelled_message_is_never_attempted():
    world = world_with(OK)
    mid = world.send()
    assert world.messages.cancel(mid) == 1
    [report] = world.dispatch()
    assert report.outcome is Outcome.CANCELED
    assert world.target.requests == []
    assert world.states(mid) == ["CREATED", "CANCEL_REQUESTED", "CANCELED"]


def test_a_message_not_yet_due_hops_on_for_the_remaining_time_without_an_attempt():
    world = world_with(OK)
    mid = world.send(headers={"Upstash-Delay": "2h"})
    assert world.dispatch() == []  # SQS holds it for its 15 minutes
    world.clock.advance(900)
    [hop] = world.dispatch()
    assert hop.outcome is Outcome.REQUEUED
    assert world.target.requests == []
    assert world.queue.visible_at(mid) == world.clock.now() + 900
    world.clock.advance(7_200 - 900)
    [delivered] = world.dispatch()
    assert delivered.outcome is Outcome.DELIVERED
    assert len(world.target.requests) == 1


def test_a_message_received_again_after_its_outcome_was_recorded_is_not_delivered_twice():
    world = world_with(OK)
    mid = world.send()
    [first] = world.dispatch(crash=True)
    assert first.outcome is Outcome.DELIVERED
    world.clock.advance(1_980)  # the visibility timeout of the crashed invocation ends
    [again] = world.dispatch()
    assert again.outcome is Outcome.DROPPED
    assert len(world.target.requests) == 1
    assert world.states(mid) == ["CREATED", "ACTIVE", "DELIVERED"]


def test_receives_beyond_the_retry_budget_without_an_outcome_dead_letter_the_message():
    world = world_with(OK)
    mid = world.send(headers={"Upstash-Retries": "1"})
    # Two receives that ended without any outcome (the dispatcher died before recording one).
    for _ in range(2):
        world.queue.receive()
        world.clock.advance(1_980)
    [report] = world.dispatch()
    assert report.outcome is Outcome.DEAD_LETTERED
    assert "did not finish 1 attempt(s)" in report.reason
    assert world.target.requests == []
    assert world.states(mid) == ["CREATED", "FAILED"]


def test_a_console_redrive_claims_its_dlq_entry_and_starts_over_once():
    world = world_with(AttemptResult(status=400), OK)
    mid = world.send(headers={"Upstash-Retries": "0"})
    world.dispatch()
    [copy] = world.queue.dead_letters
    # The console moves the SQS DLQ copy back to the queue, twice (a repeated redrive).
    world.queue.send(copy.envelope, delay_seconds=0)
    world.queue.send(copy.envelope, delay_seconds=0)
    claimed, dropped = world.dispatch()
    assert (claimed.outcome, dropped.outcome) == (Outcome.REQUEUED, Outcome.DROPPED)
    assert world.history.query_dead_letters(_all()) == []
    [report] = world.dispatch()
    assert report.outcome is Outcome.DELIVERED
    assert world.states(mid)[-2:] == ["ACTIVE", "DELIVERED"]


def test_a_schedule_firing_becomes_a_message_of_its_own_with_a_stable_id():
    world = world_with(FAIL, OK)
    template = _template(schedule_id="scd_1", destination=URL)
    world.queue.send(template, delay_seconds=0)
    [first] = world.dispatch()
    assert first.outcome is Outcome.RETRY_SCHEDULED
    [fired_id, _] = world.history.last_firing("scd_1")
    world.clock.advance(60)
    [second] = world.dispatch()
    assert second.outcome is Outcome.DELIVERED
    requests = world.target.requests
    assert {r.headers["Upstash-Message-Id"] for r in requests} == {fired_id}
    assert requests[0].headers["Upstash-Schedule-Id"] == "scd_1"
    assert world.states(fired_id) == ["CREATED", "ACTIVE", "ERROR", "RETRY", "ACTIVE", "DELIVERED"]


def test_a_schedule_firing_for_a_queue_joins_the_queue_before_its_attempt():
    world = world_with(OK)
    world.queue.send(_template(schedule_id="scd_q", destination=URL, queue="orders"), delay_seconds=0)
    [report] = world.dispatch()
    assert report.outcome is Outcome.REQUEUED and world.target.requests == []
    [queued] = world.queue.pending()
    assert queued.queue == "orders" and queued.id
    [report] = world.dispatch()
    assert report.outcome is Outcome.DELIVERED


def test_a_schedule_firing_for_a_url_group_fans_out_one_message_per_endpoint():
    world = World()
    world.groups.upsert_endpoints(
        "team", {"endpoints": [{"url": "https://a.example/x"}, {"url": "https://b.example/y", "name": "b"}]}
    )
    world.target.route("https://a.example/x", answers(OK))
    world.target.route("https://b.example/y", answers(OK))
    world.queue.send(_template(schedule_id="scd_g", destination="", url_group="team"), delay_seconds=0)
    [fan_out] = world.dispatch()
    assert fan_out.outcome is Outcome.REQUEUED
    copies = world.queue.pending()
    assert sorted(e.destination for e in copies) == ["https://a.example/x", "https://b.example/y"]
    assert len({e.id for e in copies}) == 2
    assert {r.outcome for r in world.dispatch()} == {Outcome.DELIVERED}
    assert world.target.requests_to("https://b.example/y")[0].headers["Upstash-Topic-Name"] == "team"


def test_a_schedule_firing_for_a_deleted_url_group_produces_nothing():
    world = World()
    world.queue.send(_template(schedule_id="scd_g", destination="", url_group="gone"), delay_seconds=0)
    [report] = world.dispatch()
    assert report.outcome is Outcome.DROPPED
    assert world.queue.pending() == []


def test_the_callback_is_published_after_every_attempt_failed_or_not():
    world = world_with(FAIL, OK)
    world.target.route("https://cb.example/done", answers(OK))
    world.send(headers={"Upstash-Callback": "https://cb.example/done"})
    world.dispatch()
    world.clock.advance(60)
    world.dispatch()
    created = Query(filters={"url": ("https://cb.example/done",), "state": ("CREATED",)})
    assert len(world.history.query_events(created)) == 2


def test_the_failure_callback_is_published_when_the_message_is_dead_lettered():
    world = world_with(FAIL)
    world.send(headers={"Upstash-Retries": "0", "Upstash-Failure-Callback": "https://cb.example/failed"})
    world.dispatch()
    [failure] = [e for e in world.queue.pending() if e.kind == "failure_callback"]
    assert failure.destination == "https://cb.example/failed"


def test_a_retry_delay_beyond_what_sqs_can_hide_re_enqueues_the_message_with_its_count():
    world = world_with(
        AttemptResult(status=503, headers={"Retry-After": str(MAX_VISIBILITY_SECONDS + 600)}), OK
    )
    mid = world.send()
    [report] = world.dispatch()
    assert report.outcome is Outcome.REQUEUED
    [hop] = world.queue.pending()
    assert hop.retried_offset == 1
    assert hop.not_before == world.clock.now() * 1000 + (MAX_VISIBILITY_SECONDS + 600) * 1000
    world.clock.advance(MAX_VISIBILITY_SECONDS + 600)
    while world.states(mid)[-1] != "DELIVERED":
        world.dispatch()
        world.clock.advance(900)
    assert world.target.requests[-1].headers["Upstash-Retried"] == "1"


def test_a_stored_message_with_a_header_http_cannot_carry_is_dead_lettered_at_once_unsent():
    world = world_with(OK)
    planted = Envelope(
        id="msg_bad", destination=URL, headers={"X-Evil": "a\r\nX-Injected: 1"}, created_at=0,
        not_before=0, max_retries=3, timeout=30,
    )  # fmt: skip
    world.queue.send(planted, delay_seconds=0)
    [report] = world.dispatch()
    assert report.outcome is Outcome.DEAD_LETTERED
    assert report.reason.startswith("cannot be sent: header X-Evil: the value contains CR, LF")
    assert world.target.requests == []
    assert world.queue.pending() == []  # never left to SQS's visibility timeout


def test_a_stored_body_that_cannot_be_decoded_is_dead_lettered_at_once_unsent():
    world = world_with(OK)
    planted = Envelope(
        id="msg_b64", destination=URL, body="%%% not base64", body_encoding="base64", created_at=0,
        not_before=0, max_retries=3, timeout=30,
    )  # fmt: skip
    world.queue.send(planted, delay_seconds=0)
    [report] = world.dispatch()
    assert report.outcome is Outcome.DEAD_LETTERED
    assert report.reason.startswith("cannot be sent: the stored body cannot be decoded")
    assert world.target.requests == []


def test_a_queued_body_that_is_not_an_envelope_is_dead_lettered_as_it_is_at_once():
    world = world_with(OK)
    world.queue.send_raw('{"id": "msg_1", "destination": 7')
    [report] = world.dispatch()
    assert report.outcome is Outcome.DEAD_LETTERED and report.envelope is None
    [(body, reason)] = world.queue.unreadable
    assert body == '{"id": "msg_1", "destination": 7' and "not a Ferry envelope" in reason
    assert world.queue.pending() == [] and world.target.requests == []


def test_a_request_the_http_client_refuses_is_dead_lettered_at_once():
    refused = AttemptResult(status=None, error="the HTTP client refused the request: bad", unsendable=True)
    world = world_with(refused)
    world.send()
    [report] = world.dispatch()
    assert report.outcome is Outcome.DEAD_LETTERED and "refused the request" in report.reason


def test_a_plugged_in_step_wraps_the_attempt_and_sees_the_recorded_outcome():
    seen: list[tuple[str, Outcome]] = []

    class Observe:
        def __call__(self, delivery: Delivery, proceed: Proceed) -> DeliveryReport:
            report = proceed(delivery)
            seen.append((delivery.envelope.id, report.outcome))
            return report

    world = world_with(OK, around_attempt=[Observe()])
    cancelled = world.send()
    world.messages.cancel(cancelled)
    delivered = world.send()
    world.dispatch()
    assert seen == [(delivered, Outcome.DELIVERED)]  # cancelled messages never reach the plug-ins


def _template(**fields) -> Envelope:
    base = dict(id="", created_at=0, not_before=0, max_retries=3, timeout=30)
    return Envelope(**{**base, **fields})


def _all() -> Query:
    return Query()
