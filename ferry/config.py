"""Names and settings shared by the CDK stack, the Lambda handlers and `ferry dev`.

One source of truth: the stack creates resources with these names and settings, `ferry dev`
creates the same resources in the emulator from the same values, and the handlers read the
resulting identifiers from environment variables whose names are defined here too.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from ferry.domain.limits import Limits

__all__ = ["DEFAULT_CONFIG", "DispatcherSettings", "Env", "FerryConfig", "Limits", "Names", "RuntimeSettings"]


@dataclass(frozen=True)
class Names:
    """Resource names, derived from one prefix so several Ferry stacks can share an account."""

    prefix: str = "ferry"

    @property
    def queue(self) -> str:
        return f"{self.prefix}-messages"

    @property
    def queue_dlq(self) -> str:
        return f"{self.prefix}-messages-dlq"

    @property
    def fifo_queue(self) -> str:
        return f"{self.prefix}-messages.fifo"

    @property
    def fifo_queue_dlq(self) -> str:
        return f"{self.prefix}-messages-dlq.fifo"

    @property
    def table(self) -> str:
        return f"{self.prefix}-table"

    @property
    def api_token_secret(self) -> str:
        return f"{self.prefix}/api-token"

    @property
    def signing_key_current_secret(self) -> str:
        return f"{self.prefix}/signing-key-current"

    @property
    def signing_key_next_secret(self) -> str:
        return f"{self.prefix}/signing-key-next"

    @property
    def schedule_group(self) -> str:
        return f"{self.prefix}-schedules"

    @property
    def delay_schedule_group(self) -> str:
        """One-time `at()` schedules that carry long-delayed messages (kept apart from user crons)."""
        return f"{self.prefix}-delays"

    @property
    def scheduler_dlq(self) -> str:
        """Standard SQS queue for the sends EventBridge Scheduler gave up on (its target DLQ)."""
        return f"{self.prefix}-scheduler-dlq"

    @property
    def run_driver(self) -> str:
        """The Step Functions state machine that drives every workflow run (docs/workflows.md)."""
        return f"{self.prefix}-run-driver"


@dataclass(frozen=True)
class DispatcherSettings:
    # The dispatcher pays wall time while it waits on destinations, so the cost of a message is
    # about (slowest attempt in its batch) / (messages in the batch): batches of many records
    # delivered at once are what make a slow destination cheap (benchmarks/dispatcher_duration.py).
    # Measured: 50 records per batch bill 9.8 ms per message to a 300 ms endpoint (10: 40 ms;
    # 100: 8.8 ms). Lambda requires a batching window of at least 1 s for batches above 10; it
    # ends early once 50 records (or 6 MB) are in, so it only delays messages under light load.
    batch_size: int = 50
    # FIFO batches hold one record: a failed head then blocks its group for exactly its backoff,
    # and no follower is received (and counted as an attempt) without being delivered.
    fifo_batch_size: int = 1
    max_batching_window_seconds: int = 1
    max_concurrency: int = 50
    # Deliveries in flight at once inside one invocation; None: the whole batch at once. Fewer
    # than the batch size makes a batch take up to ceil(batch / concurrency) attempt timeouts,
    # which must fit `timeout_seconds`.
    delivery_concurrency: int | None = None
    timeout_seconds: int = 330
    memory_mb: int = 256

    @property
    def concurrency(self) -> int:
        return self.delivery_concurrency or max(self.batch_size, self.fifo_batch_size)

    @property
    def queue_visibility_timeout_seconds(self) -> int:
        # AWS guidance for SQS event sources: visibility >= 6 x function timeout, so a message
        # is never redelivered while an invocation may still be working on it.
        return 6 * self.timeout_seconds


@dataclass(frozen=True)
class FerryConfig:
    names: Names = field(default_factory=Names)
    limits: Limits = field(default_factory=Limits)
    dispatcher: DispatcherSettings = field(default_factory=DispatcherSettings)
    publish_memory_mb: int = 256
    publish_timeout_seconds: int = 29
    # Bulk cancel / DLQ retry / DLQ delete stop starting new items after this long, so the answer
    # beats API Gateway's 30 s timeout; the response then says "incomplete" and a repeat continues.
    bulk_budget_seconds: int = 20
    # How long message history (logs) is kept; DynamoDB TTL deletes it afterwards.
    history_retention_days: int = 7
    # What the time-ordered log lists (docs/benchmarks.md prices both): "full", every event;
    # "errors", only messages that failed or were cancelled (each message's own history stays
    # complete; filter-based bulk cancel then finds only those). "errors" halves DynamoDB writes.
    history_level: str = "full"
    # How long a flow-control key or queue is held after a 429/503 whose answer says no usable
    # Retry-After (or rate-limit reset) time.
    default_backpressure_seconds: int = 5
    queue_retention_days: int = 14
    signing_key_length: int = 40
    api_token_length: int = 48
    # API Gateway stage throttling (token bucket): steady requests per second, and burst.
    api_throttle_rate_limit: int = 1_000
    api_throttle_burst_limit: int = 2_000

    @property
    def max_receive_count(self) -> int:
        # The dispatcher moves exhausted messages to the DLQ itself (with the reason). The SQS
        # redrive policy is only the safety net for messages that crash or time out the
        # dispatcher again and again, so it must sit above the largest retry budget.
        return self.limits.max_retries + 5


DEFAULT_CONFIG = FerryConfig()


class Env:
    """Environment variable names: set by the CDK stack on each Lambda, and by `ferry dev`."""

    QUEUE_URL = "FERRY_QUEUE_URL"
    QUEUE_DLQ_URL = "FERRY_QUEUE_DLQ_URL"
    FIFO_QUEUE_URL = "FERRY_FIFO_QUEUE_URL"
    FIFO_QUEUE_DLQ_URL = "FERRY_FIFO_QUEUE_DLQ_URL"
    TABLE_NAME = "FERRY_TABLE_NAME"
    API_TOKEN_SECRET = "FERRY_API_TOKEN_SECRET"
    SIGNING_KEY_CURRENT_SECRET = "FERRY_SIGNING_KEY_CURRENT_SECRET"
    SIGNING_KEY_NEXT_SECRET = "FERRY_SIGNING_KEY_NEXT_SECRET"
    # "true" only in `ferry dev`: lets destinations resolve to loopback and private networks.
    ALLOW_PRIVATE_DESTINATIONS = "FERRY_ALLOW_PRIVATE_DESTINATIONS"
    # "true" logs message bodies (never the default: bodies may hold personal data).
    LOG_BODIES = "FERRY_LOG_BODIES"
    # Seconds the handlers cache secrets for.
    SECRETS_MAX_AGE = "FERRY_SECRETS_MAX_AGE"
    # Days message history and logs are kept (DynamoDB TTL); default FerryConfig.history_retention_days.
    HISTORY_RETENTION_DAYS = "FERRY_HISTORY_RETENTION_DAYS"
    # EventBridge Scheduler: the role it assumes to send to the queue, the groups, its target DLQ.
    SCHEDULER_ROLE_ARN = "FERRY_SCHEDULER_ROLE_ARN"
    SCHEDULE_GROUP = "FERRY_SCHEDULE_GROUP"
    DELAY_SCHEDULE_GROUP = "FERRY_DELAY_SCHEDULE_GROUP"
    SCHEDULER_DLQ_ARN = "FERRY_SCHEDULER_DLQ_ARN"
    QUEUE_ARN = "FERRY_QUEUE_ARN"
    # The workflow run driver state machine; empty disables workflows (publishes stay plain).
    RUN_DRIVER_ARN = "FERRY_RUN_DRIVER_ARN"
    # "true" wraps the handlers in a powertools Tracer that records AWS calls as X-Ray
    # subsegments; off by default: the X-Ray SDK adds about 250 ms to every cold start.
    TRACE_AWS_CALLS = "FERRY_TRACE_AWS_CALLS"
    # "full" or "errors" (FerryConfig.history_level).
    HISTORY_LEVEL = "FERRY_HISTORY_LEVEL"
    # Deliveries one dispatcher invocation runs at once (DispatcherSettings.concurrency).
    DISPATCHER_CONCURRENCY = "FERRY_DISPATCHER_CONCURRENCY"
    # Seconds a key is held after a 429/503 without Retry-After (FerryConfig.default_backpressure_seconds).
    BACKPRESSURE_SECONDS = "FERRY_BACKPRESSURE_SECONDS"


@dataclass(frozen=True)
class RuntimeSettings:
    """What a running handler needs to know about its deployment, read from the environment."""

    queue_url: str
    queue_dlq_url: str
    fifo_queue_url: str
    fifo_queue_dlq_url: str
    table_name: str
    api_token_secret: str
    signing_key_current_secret: str
    signing_key_next_secret: str
    allow_private_destinations: bool = False
    log_bodies: bool = False
    secrets_max_age_seconds: int = 60
    scheduler_role_arn: str = ""
    schedule_group: str = ""
    delay_schedule_group: str = ""
    scheduler_dlq_arn: str = ""
    queue_arn: str = ""
    run_driver_arn: str = ""
    history_retention_days: int = DEFAULT_CONFIG.history_retention_days
    dispatcher_concurrency: int = DEFAULT_CONFIG.dispatcher.concurrency
    history_level: str = DEFAULT_CONFIG.history_level
    default_backpressure_seconds: int = DEFAULT_CONFIG.default_backpressure_seconds
    config: FerryConfig = DEFAULT_CONFIG

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> RuntimeSettings:
        env = os.environ if environ is None else environ

        def flag(name: str) -> bool:
            return env.get(name, "").strip().lower() in {"1", "true", "yes"}

        return cls(
            queue_url=env[Env.QUEUE_URL],
            queue_dlq_url=env[Env.QUEUE_DLQ_URL],
            fifo_queue_url=env[Env.FIFO_QUEUE_URL],
            fifo_queue_dlq_url=env[Env.FIFO_QUEUE_DLQ_URL],
            table_name=env[Env.TABLE_NAME],
            api_token_secret=env[Env.API_TOKEN_SECRET],
            signing_key_current_secret=env[Env.SIGNING_KEY_CURRENT_SECRET],
            signing_key_next_secret=env[Env.SIGNING_KEY_NEXT_SECRET],
            allow_private_destinations=flag(Env.ALLOW_PRIVATE_DESTINATIONS),
            log_bodies=flag(Env.LOG_BODIES),
            secrets_max_age_seconds=int(env.get(Env.SECRETS_MAX_AGE, "60")),
            scheduler_role_arn=env.get(Env.SCHEDULER_ROLE_ARN, ""),
            schedule_group=env.get(Env.SCHEDULE_GROUP, ""),
            delay_schedule_group=env.get(Env.DELAY_SCHEDULE_GROUP, ""),
            scheduler_dlq_arn=env.get(Env.SCHEDULER_DLQ_ARN, ""),
            queue_arn=env.get(Env.QUEUE_ARN, ""),
            run_driver_arn=env.get(Env.RUN_DRIVER_ARN, ""),
            history_retention_days=int(
                env.get(Env.HISTORY_RETENTION_DAYS, str(DEFAULT_CONFIG.history_retention_days))
            ),
            dispatcher_concurrency=int(
                env.get(Env.DISPATCHER_CONCURRENCY, str(DEFAULT_CONFIG.dispatcher.concurrency))
            ),
            history_level=env.get(Env.HISTORY_LEVEL, DEFAULT_CONFIG.history_level),
            default_backpressure_seconds=int(
                env.get(Env.BACKPRESSURE_SECONDS, str(DEFAULT_CONFIG.default_backpressure_seconds))
            ),
        )
