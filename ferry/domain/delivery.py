"""One delivery attempt, as pure logic: the signed HTTP request to make, and what to do with the answer.

The dispatcher use case performs the I/O; everything it decides comes from here, so the retry
policy is one clear step (`decide`) that unit tests can drive with a fake clock.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from ferry.domain.backoff import RetryDelayExpression, next_retry_delay_seconds
from ferry.domain.envelope import Envelope
from ferry.domain.errors import InvalidInput
from ferry.domain.http_headers import checked_fields
from ferry.domain.signing import sign

USER_AGENT = "Upstash-QStash"
# Status + header QStash defines for "do not retry this message".
NON_RETRYABLE_STATUS = 489


@dataclass(frozen=True)
class DeliveryRequest:
    method: str
    url: str
    headers: dict[str, str]
    body: bytes
    timeout_seconds: float


@dataclass(frozen=True)
class AttemptResult:
    """What came back from one attempt: a response, or an error (timeout, refused, forbidden)."""

    status: int | None
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""
    error: str | None = None
    started_at_ms: int = 0
    finished_at_ms: int = 0
    # The request could not be put on the wire at all (a header or URL the HTTP client refuses):
    # trying again cannot help, so the message is dead-lettered at once.
    unsendable: bool = False

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    def describe(self) -> str:
        if self.status is not None:
            return f"HTTP {self.status}"
        return self.error or "no response"


def unsendable_reason(request: DeliveryRequest) -> str | None:
    """Why `request` cannot be sent over HTTP (checked before any connection is made). Publish
    refuses such headers already; this catches messages stored before that check, or written to
    the queue by other means, so they cannot loop through SQS redeliveries."""
    try:
        checked_fields(request.headers)
    except InvalidInput as exc:
        return exc.message
    return None


def build_request(
    envelope: Envelope, *, retried: int, signing_key: str, now: float, jwt_lifetime_seconds: int = 300
) -> DeliveryRequest:
    body = envelope.body_bytes()
    headers = dict(envelope.headers)
    headers["User-Agent"] = USER_AGENT
    headers["Upstash-Message-Id"] = envelope.id
    headers["Upstash-Retried"] = str(retried)
    if envelope.schedule_id:
        headers["Upstash-Schedule-Id"] = envelope.schedule_id
    if envelope.url_group:
        headers["Upstash-Topic-Name"] = envelope.url_group
    if envelope.caller_ip:
        headers["Upstash-Caller-Ip"] = envelope.caller_ip
    headers["Upstash-Signature"] = sign(
        key=signing_key, url=envelope.destination, body=body, now=now, lifetime_seconds=jwt_lifetime_seconds
    )
    return DeliveryRequest(
        method=envelope.method,
        url=envelope.destination,
        headers=headers,
        body=body,
        timeout_seconds=float(envelope.timeout),
    )


@dataclass(frozen=True)
class Delivered:
    pass


@dataclass(frozen=True)
class RetryLater:
    delay_seconds: float


@dataclass(frozen=True)
class GiveUp:
    reason: str


Decision = Delivered | RetryLater | GiveUp


def decide(envelope: Envelope, *, retried: int, result: AttemptResult, now: float) -> Decision:
    """A request that cannot be sent fails at once; 2xx delivers; 489 + Upstash-NonRetryable-Error
    fails at once; otherwise retry while the message's budget lasts (Retry-After family, then the
    retry-delay expression, then QStash's default backoff), and give up with the reason when it is spent."""
    if result.unsendable:
        return GiveUp(reason=f"cannot be sent: {result.describe()}; dead-lettered without retrying")
    if result.ok:
        return Delivered()
    lowered = {k.lower(): v for k, v in result.headers.items()}
    if (
        result.status == NON_RETRYABLE_STATUS
        and lowered.get("upstash-nonretryable-error", "").lower() == "true"
    ):
        return GiveUp(reason=f"non-retryable error: {result.describe()} with Upstash-NonRetryable-Error")
    if retried >= envelope.max_retries:
        attempts = retried + 1
        plural = "s" if attempts != 1 else ""
        return GiveUp(reason=f"retries exhausted: {attempts} attempt{plural}, last: {result.describe()}")
    expression = RetryDelayExpression.parse(envelope.retry_delay) if envelope.retry_delay else None
    delay = next_retry_delay_seconds(
        retried=retried, expression=expression, response_headers=result.headers, now=now
    )
    return RetryLater(delay_seconds=delay)
