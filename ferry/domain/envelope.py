"""The queue message body: everything the dispatcher needs to deliver one message.

Designed once for every capability on the roadmap (queues, flow control, URL groups, schedules,
workflows, callbacks), so new features fill in optional fields instead of migrating messages
that are already sitting in SQS. `v` is the schema version; readers ignore unknown fields so an
older dispatcher can still deliver what a newer API wrote.
"""

from __future__ import annotations

import base64
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

ENVELOPE_VERSION = 1


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class CallbackSpec(_Model):
    """Where and how to deliver a callback or failure callback (itself a signed, retried message)."""

    url: str
    method: str = "POST"
    headers: dict[str, str] = Field(default_factory=dict)
    retries: int | None = None
    timeout: int | None = None
    retry_delay: str | None = None
    delay: int | None = None
    # Every other `Upstash-Callback-<Rest>` header, kept as `Upstash-<Rest>` for the callback message.
    options: dict[str, str] = Field(default_factory=dict)


class RedactSpec(_Model):
    """Fields shown as `REDACTED:<sha256>` in API responses and logs; delivery uses real values."""

    body: bool = False
    all_headers: bool = False
    headers: tuple[str, ...] = ()


class FlowControl(_Model):
    key: str
    parallelism: int | None = None
    rate: int | None = None
    period: int | None = None


class WorkflowRef(_Model):
    run_id: str
    step: str | None = None
    # Step Functions task token when the delivery answers a `.waitForTaskToken` task.
    task_token: str | None = None
    # The run driver's WaitForEvent task: the dispatcher keeps the token for the event (no delivery).
    waiting: bool = False
    # A Map iteration delivering one plan step of a parallel group (answered `{branch: done}`).
    branch: bool = False
    # The task after the Map: deliver the group's last result (the first id names the group).
    join: bool = False


class SecondFiring(_Model):
    """Set on the template of the second (day-of-week) Scheduler schedule of a cron restricting
    both day fields (docs/cron.md): a firing at an instant the first schedule also fires is a
    duplicate, dropped by the dispatcher (`ferry.domain.cron_aws.is_duplicate_firing`)."""

    # The context attribute `<aws.scheduler.scheduled-time>` in the template; EventBridge Scheduler
    # (and `ferry dev`'s ticker) substitute the instant of the firing.
    scheduled_time: str
    first_expression: str
    timezone: str


class Envelope(_Model):
    v: int = ENVELOPE_VERSION
    id: str
    destination: str
    method: str = "POST"
    # Headers delivered to the destination (forward prefix stripped), Content-Type included.
    headers: dict[str, str] = Field(default_factory=dict)
    body: str = ""
    body_encoding: Literal["utf8", "base64"] = "utf8"
    created_at: int  # unix ms
    not_before: int  # unix ms; equals created_at when there is no delay
    max_retries: int
    # Retries already spent before this SQS message was (re-)enqueued. The retries of the current
    # SQS message come from its ApproximateReceiveCount, so retrying costs no rewrite.
    retried_offset: int = 0
    retry_delay: str | None = None
    timeout: int  # seconds per attempt
    callback: CallbackSpec | None = None
    failure_callback: CallbackSpec | None = None
    dedup_id: str | None = None
    labels: tuple[str, ...] = ()
    redact: RedactSpec | None = None
    queue: str | None = None
    # The queue's FIFO lane (message group `<queue>~<lane>`, lane 0 = `<queue>`): parallelism N
    # spreads a queue over N lanes (ferry.domain.queues).
    lane: int = 0
    flow_control: FlowControl | None = None
    url_group: str | None = None
    endpoint_name: str | None = None
    schedule_id: str | None = None
    second_firing: SecondFiring | None = None
    workflow: WorkflowRef | None = None
    caller_ip: str | None = None
    # Set on callback messages: the id of the message whose attempt they report.
    source_message_id: str | None = None
    # Set on the copy in the SQS dead-letter queue, so a console redrive can find its DLQ entry.
    dlq_id: str | None = None
    kind: Literal["message", "callback", "failure_callback"] = "message"

    @staticmethod
    def encode_body(body: bytes) -> tuple[str, Literal["utf8", "base64"]]:
        """Text bodies travel as text (smaller than base64 and readable in the console)."""
        try:
            return body.decode("utf-8"), "utf8"
        except UnicodeDecodeError:
            return base64.b64encode(body).decode("ascii"), "base64"

    def body_bytes(self) -> bytes:
        if self.body_encoding == "base64":
            return base64.b64decode(self.body)
        return self.body.encode("utf-8")

    @property
    def is_schedule_template(self) -> bool:
        """A schedule firing: the template has no id yet; the dispatcher assigns one."""
        return not self.id and self.schedule_id is not None

    def materialize(self, *, message_id: str, now_ms: int) -> Envelope:
        """The message one firing of a schedule produces (template times are relative)."""
        return self.model_copy(
            update={
                "id": message_id,
                "created_at": now_ms,
                "not_before": now_ms + (self.not_before - self.created_at),
                "second_firing": None,
            }
        )

    def to_json(self) -> str:
        return self.model_dump_json(exclude_defaults=True)

    @classmethod
    def from_json(cls, text: str) -> Envelope:
        return cls.model_validate_json(text)
