"""What the dispatcher's log line may contain: bodies only when the operator opts in, never a
body the publisher redacted."""

from __future__ import annotations

from ferry.config import Env, RuntimeSettings
from ferry.domain.delivery import AttemptResult
from ferry.domain.envelope import Envelope, RedactSpec
from ferry.sqs_batch import logged_bodies
from ferry.usecases.deliver_message import DeliveryReport, Outcome


def envelope(**extra) -> Envelope:
    return Envelope(
        id="msg_1", destination="https://example.com", body="secret order 42", created_at=0,
        not_before=0, max_retries=3, timeout=30, **extra,
    )  # fmt: skip


REPORT = DeliveryReport(
    outcome=Outcome.DELIVERED, retried=0, result=AttemptResult(status=200, body=b"ok" + b"x" * 5000)
)


REQUIRED = (
    Env.QUEUE_URL, Env.QUEUE_DLQ_URL, Env.FIFO_QUEUE_URL, Env.FIFO_QUEUE_DLQ_URL, Env.TABLE_NAME,
    Env.API_TOKEN_SECRET, Env.SIGNING_KEY_CURRENT_SECRET, Env.SIGNING_KEY_NEXT_SECRET,
)  # fmt: skip


def _environment(**extra: str) -> dict[str, str]:
    """The variables the handlers cannot start without, and nothing about logging bodies."""
    return {**{name: "x" for name in REQUIRED}, **extra}


def test_message_bodies_are_not_logged_by_default():
    # What production reads: the environment, not the dataclass default.
    assert RuntimeSettings.from_env(_environment()).log_bodies is False
    assert RuntimeSettings.from_env(_environment(FERRY_LOG_BODIES="no")).log_bodies is False
    assert RuntimeSettings.from_env(_environment(FERRY_LOG_BODIES="true")).log_bodies is True


def test_opted_in_log_holds_the_first_kilobyte_of_both_bodies():
    fields = logged_bodies(envelope(), REPORT)
    assert fields["body"] == "secret order 42"
    assert fields["response_body"].startswith("ok") and len(fields["response_body"]) == 1024


def test_a_redacted_body_is_never_logged():
    assert logged_bodies(envelope(redact=RedactSpec(body=True)), REPORT) == {"body": "REDACTED"}


def test_a_stored_body_that_cannot_be_decoded_is_logged_as_such_not_raised():
    # The Attempt step dead-letters such a message; logging it must not fail the record after.
    stored = envelope().model_copy(update={"body": "abcde", "body_encoding": "base64"})
    fields = logged_bodies(stored, REPORT)
    assert fields["body"] == "<not decodable>"
