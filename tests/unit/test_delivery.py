"""The delivery decision: deliver, retry (with which delay) or give up — with the clock under test control."""

from __future__ import annotations

import pytest

from ferry.domain.delivery import AttemptResult, Delivered, GiveUp, RetryLater, build_request, decide
from ferry.domain.envelope import Envelope

NOW = 1_800_000_000.0


def envelope(**overrides) -> Envelope:
    fields = dict(
        id="msg_1",
        destination="https://example.com/x",
        created_at=0,
        not_before=0,
        max_retries=3,
        timeout=30,
        headers={"Content-Type": "text/plain"},
        body="hello",
    )
    fields.update(overrides)
    return Envelope(**fields)


def test_2xx_is_delivered():
    assert decide(envelope(), retried=0, result=AttemptResult(status=204), now=NOW) == Delivered()


def test_failure_with_budget_left_retries_with_qstash_default_backoff():
    decision = decide(envelope(), retried=0, result=AttemptResult(status=500), now=NOW)
    assert isinstance(decision, RetryLater)
    assert decision.delay_seconds == pytest.approx(12.18, abs=0.01)


def test_retry_delay_expression_replaces_the_default_backoff():
    decision = decide(
        envelope(retry_delay="1000 * (retried + 1)"), retried=2, result=AttemptResult(500), now=NOW
    )
    assert decision == RetryLater(delay_seconds=3.0)


def test_retry_after_header_wins():
    result = AttemptResult(status=429, headers={"Retry-After": "7"})
    assert decide(envelope(), retried=0, result=result, now=NOW) == RetryLater(delay_seconds=7.0)


def test_exhausted_retries_give_up_with_the_reason():
    decision = decide(envelope(max_retries=2), retried=2, result=AttemptResult(status=503), now=NOW)
    assert decision == GiveUp(reason="retries exhausted: 3 attempts, last: HTTP 503")


def test_timeouts_and_connection_errors_are_failed_attempts():
    decision = decide(
        envelope(max_retries=0), retried=0, result=AttemptResult(None, error="timed out after 30s"), now=NOW
    )
    assert decision == GiveUp(reason="retries exhausted: 1 attempt, last: timed out after 30s")


def test_489_with_non_retryable_header_gives_up_at_once():
    result = AttemptResult(status=489, headers={"upstash-nonretryable-error": "true"})
    assert isinstance(decide(envelope(), retried=0, result=result, now=NOW), GiveUp)


def test_request_carries_qstash_delivery_headers():
    request = build_request(envelope(schedule_id="scd_1"), retried=2, signing_key="sig_" + "k" * 36, now=NOW)
    assert request.headers["Upstash-Message-Id"] == "msg_1"
    assert request.headers["Upstash-Retried"] == "2"
    assert request.headers["Upstash-Schedule-Id"] == "scd_1"
    assert request.headers["Content-Type"] == "text/plain"
    assert request.body == b"hello" and request.timeout_seconds == 30
