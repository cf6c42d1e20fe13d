"""SchedulerDelays: long delays as one-time EventBridge Scheduler schedules.

A message delayed beyond what SQS can hold (15 minutes) becomes an `at()` schedule whose target
sends the envelope to the message queue and then deletes itself (ActionAfterCompletion=DELETE).
The schedule fires a minute early on purpose: the dispatcher sees the message is not yet due and
re-sends it with the remaining SQS delay, so delivery is accurate to about a second even though
Scheduler works in whole minutes.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from typing import Any

from ferry.domain.envelope import Envelope

EARLY_SECONDS = 60
# Scheduler target input is capped well below SQS's 1 MiB; bigger envelopes ride SQS hops instead.
MAX_INPUT_BYTES = 200_000


def sqs_target(
    *,
    queue_arn: str,
    role_arn: str,
    payload: str,
    dlq_arn: str,
    max_event_age_seconds: int,
    max_attempts: int,
) -> dict:
    """An EventBridge Scheduler target that sends `payload` to an SQS queue. Scheduler retries its own
    SendMessage; what still fails lands in the scheduler DLQ instead of being lost."""
    target: dict = {
        "Arn": queue_arn,
        "RoleArn": role_arn,
        "Input": payload,
        "RetryPolicy": {
            "MaximumEventAgeInSeconds": max_event_age_seconds,
            "MaximumRetryAttempts": max_attempts,
        },
    }
    if dlq_arn:
        target["DeadLetterConfig"] = {"Arn": dlq_arn}
    return target


def at_expression(fire_at_ms: int) -> str:
    moment = dt.datetime.fromtimestamp(fire_at_ms / 1000, tz=dt.UTC).replace(second=0, microsecond=0)
    return f"at({moment.strftime('%Y-%m-%dT%H:%M:%S')})"


class SchedulerDelays:
    def __init__(self, client: Any, *, group: str, role_arn: str, queue_arn: str, dlq_arn: str) -> None:
        self._scheduler = client
        self._group = group
        self._role_arn = role_arn
        self._queue_arn = queue_arn
        self._dlq_arn = dlq_arn

    def fits(self, envelope: Envelope) -> bool:
        return len(envelope.to_json().encode()) <= MAX_INPUT_BYTES

    def schedule(self, envelope: Envelope) -> None:
        target = sqs_target(
            queue_arn=self._queue_arn,
            role_arn=self._role_arn,
            payload=envelope.to_json(),
            dlq_arn=self._dlq_arn,
            max_event_age_seconds=86_400,
            max_attempts=185,
        )
        # A ConflictException means the SDK retried a create that had already succeeded (the
        # schedule's name is the message id).
        with contextlib.suppress(self._scheduler.exceptions.ConflictException):
            self._create(envelope, target)

    def _create(self, envelope: Envelope, target: dict) -> None:
        self._scheduler.create_schedule(
            Name=envelope.id,
            GroupName=self._group,
            ScheduleExpression=at_expression(envelope.not_before - EARLY_SECONDS * 1000),
            ScheduleExpressionTimezone="UTC",
            FlexibleTimeWindow={"Mode": "OFF"},
            ActionAfterCompletion="DELETE",
            State="ENABLED",
            Target=target,
        )
