"""The one declaration of every resource Ferry deploys that `ferry dev` also runs: queues (with
their dead-letter queues), the table, the secrets, the schedule groups and state machines.

Two readers, no copies:
- the CDK constructs (`stacks/constructs/*`) build each resource from its entry here;
- `ferry dev` (`ferry/dev/resources.py`) creates the same resources in the emulator from it.
It is plain data (no CDK import), so `ferry dev` starts without Node or a synth.
`tests/cdk/test_resource_declaration.py` synthesizes the app and compares, attribute by
attribute, every queue, table, schedule group, state machine and secret of the template with
what `ferry dev` provisions: a resource or setting added on one side only fails it.

Adding a resource: append an entry to `declare()` (a `Queue`, `Table`, `Secret`, `ScheduleGroup`
or `StateMachine`), naming the environment variable its identifier reaches the handlers by
(`ferry.config.Env`). `ferry dev` provisions every entry without further code; in CDK, queues
(`construct="Storage"`) and tables are built by `Storage`, secrets by `Secrets`, schedule groups
by `Schedules`; a state machine by the construct its `construct` field names, from
`definition`. Add the variable to `FerryStack.function_environment` too (the test checks it).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ferry.config import DEFAULT_CONFIG, Env, FerryConfig

# Every Ferry queue accepts SQS's largest message (the envelope of a 750 kB body needs it),
# set explicitly rather than relying on a default that AWS and the emulator may not share.
MAX_MESSAGE_BYTES = 1_048_576


@dataclass(frozen=True)
class DeadLetter:
    """Where SQS moves a message received `max_receive_count` times without being deleted."""

    queue: str  # the `key` of the dead-letter queue, declared too
    max_receive_count: int


@dataclass(frozen=True)
class Queue:
    key: str
    name: str
    construct_id: str  # the CDK construct id (keeps the CloudFormation logical id stable)
    retention_seconds: int
    visibility_timeout_seconds: int = 30
    dead_letter: DeadLetter | None = None
    # Dead-letter queues only: the console's "Start DLQ redrive" may move messages back.
    redrive_allow_all: bool = False
    fifo: bool = False
    content_based_deduplication: bool = False
    deduplication_scope: str | None = None  # FIFO: "messageGroup" or "queue"
    fifo_throughput_limit: str | None = None  # FIFO: "perMessageGroupId" or "perQueue"
    url_env: str | None = None
    arn_env: str | None = None
    construct: str = "Storage"  # the construct in stacks/constructs that builds it

    def sqs_attributes(self, arn_of: Callable[[str], str]) -> dict[str, str]:
        """CreateQueue attributes; `arn_of(key)` is the ARN of another declared queue."""
        attributes = {
            "MessageRetentionPeriod": str(self.retention_seconds),
            "VisibilityTimeout": str(self.visibility_timeout_seconds),
            "MaximumMessageSize": str(MAX_MESSAGE_BYTES),
            "SqsManagedSseEnabled": "true",
        }
        if self.dead_letter is not None:
            attributes["RedrivePolicy"] = json.dumps(
                {
                    "deadLetterTargetArn": arn_of(self.dead_letter.queue),
                    "maxReceiveCount": self.dead_letter.max_receive_count,
                }
            )
        if self.redrive_allow_all:
            attributes["RedriveAllowPolicy"] = json.dumps({"redrivePermission": "allowAll"})
        if self.fifo:
            attributes["FifoQueue"] = "true"
            attributes["ContentBasedDeduplication"] = str(self.content_based_deduplication).lower()
            if self.deduplication_scope:
                attributes["DeduplicationScope"] = self.deduplication_scope
            if self.fifo_throughput_limit:
                attributes["FifoThroughputLimit"] = self.fifo_throughput_limit
        return attributes


@dataclass(frozen=True)
class Key:
    name: str
    type: str = "S"  # "S", "N" or "B"


@dataclass(frozen=True)
class Index:
    name: str
    partition_key: Key
    sort_key: Key | None = None
    projection: str = "ALL"


@dataclass(frozen=True)
class Table:
    key: str
    name: str
    construct_id: str
    partition_key: Key
    sort_key: Key | None = None
    indexes: tuple[Index, ...] = ()
    ttl_attribute: str | None = None
    stream: str | None = None  # a StreamViewType such as "NEW_AND_OLD_IMAGES"; None: no stream
    point_in_time_recovery: bool = True
    name_env: str | None = None

    @property
    def key_attributes(self) -> list[Key]:
        """Every attribute a key schema names, once (DynamoDB's AttributeDefinitions)."""
        keys: dict[str, Key] = {}
        for key in (self.partition_key, self.sort_key):
            if key is not None:
                keys.setdefault(key.name, key)
        for index in self.indexes:
            for key in (index.partition_key, index.sort_key):
                if key is not None:
                    keys.setdefault(key.name, key)
        return list(keys.values())


@dataclass(frozen=True)
class Secret:
    """Generated by Secrets Manager at deploy time; `ferry dev` stores its documented dev value."""

    key: str  # also the `DevSecrets` field holding its dev value
    name: str
    construct_id: str
    description: str
    length: int
    arn_env: str | None = None


@dataclass(frozen=True)
class ScheduleGroup:
    key: str
    name: str
    construct_id: str
    name_env: str | None = None


@dataclass(frozen=True)
class StateMachine:
    """A Step Functions state machine; `definition` is its Amazon States Language document, which
    may hold `${Placeholder}`s: CDK passes them as DefinitionSubstitutions, `ferry dev` fills them
    with the value of the environment variable `definition_substitutions` names (an identifier of
    a resource declared before this one)."""

    key: str
    name: str
    construct_id: str
    construct: str  # the construct in stacks/constructs that builds it
    definition: Mapping[str, Any]
    type: str = "STANDARD"
    definition_substitutions: Mapping[str, str] = field(default_factory=dict)  # placeholder -> Env
    arn_env: str | None = None


@dataclass(frozen=True)
class Resources:
    queues: tuple[Queue, ...]
    tables: tuple[Table, ...]
    secrets: tuple[Secret, ...]
    schedule_groups: tuple[ScheduleGroup, ...]
    state_machines: tuple[StateMachine, ...] = field(default=())

    def queue(self, key: str) -> Queue:
        return _one(self.queues, key)

    def table(self, key: str) -> Table:
        return _one(self.tables, key)

    def secret(self, key: str) -> Secret:
        return _one(self.secrets, key)

    def schedule_group(self, key: str) -> ScheduleGroup:
        return _one(self.schedule_groups, key)

    def queues_built_by(self, construct: str) -> list[Queue]:
        return [queue for queue in self.queues if queue.construct == construct]

    def state_machines_built_by(self, construct: str) -> list[StateMachine]:
        return [machine for machine in self.state_machines if machine.construct == construct]


def _one(entries: tuple[Any, ...], key: str) -> Any:
    for entry in entries:
        if entry.key == key:
            return entry
    raise KeyError(f"no declared resource {key!r}")


def declare(config: FerryConfig = DEFAULT_CONFIG) -> Resources:
    """Every resource of a Ferry deployment configured by `config`."""
    names = config.names
    retention = config.queue_retention_days * 86_400
    visibility = config.dispatcher.queue_visibility_timeout_seconds
    # Ferry deduplicates itself (DynamoDB), so every FIFO send carries its own deduplication id;
    # throughput is per message group: one group per named queue, many groups in parallel.
    fifo = {
        "fifo": True,
        "content_based_deduplication": False,
        "deduplication_scope": "messageGroup",
        "fifo_throughput_limit": "perMessageGroupId",
    }
    # The dispatcher dead-letters exhausted messages itself (with the reason); the SQS redrive
    # is the safety net for messages that crash or time out the dispatcher again and again.
    redrive = config.max_receive_count
    queues = (
        Queue(
            key="queue_dlq",
            name=names.queue_dlq,
            construct_id="QueueDlq",
            retention_seconds=retention,
            redrive_allow_all=True,
            url_env=Env.QUEUE_DLQ_URL,
        ),
        Queue(
            key="queue",
            name=names.queue,
            construct_id="Queue",
            retention_seconds=retention,
            visibility_timeout_seconds=visibility,
            dead_letter=DeadLetter("queue_dlq", redrive),
            url_env=Env.QUEUE_URL,
            arn_env=Env.QUEUE_ARN,
        ),
        Queue(
            key="fifo_queue_dlq",
            name=names.fifo_queue_dlq,
            construct_id="FifoQueueDlq",
            retention_seconds=retention,
            redrive_allow_all=True,
            url_env=Env.FIFO_QUEUE_DLQ_URL,
            **fifo,
        ),
        Queue(
            key="fifo_queue",
            name=names.fifo_queue,
            construct_id="FifoQueue",
            retention_seconds=retention,
            visibility_timeout_seconds=visibility,
            dead_letter=DeadLetter("fifo_queue_dlq", redrive),
            url_env=Env.FIFO_QUEUE_URL,
            **fifo,
        ),
        # What EventBridge Scheduler could not send to the queue after its retries (standard:
        # Scheduler does not support FIFO DLQs). Nothing consumes it; it is for inspection.
        Queue(
            key="scheduler_dlq",
            name=names.scheduler_dlq,
            construct_id="Dlq",
            retention_seconds=retention,
            arn_env=Env.SCHEDULER_DLQ_ARN,
            construct="Schedules",
        ),
    )
    table = Table(
        key="table",
        name=names.table,
        construct_id="Table",
        partition_key=Key("pk"),
        sort_key=Key("sk"),
        indexes=(Index("gsi1", Key("gsi1pk"), Key("gsi1sk")),),
        ttl_attribute="ttl",
        name_env=Env.TABLE_NAME,
    )
    secrets = (
        Secret(
            key="api_token",
            name=names.api_token_secret,
            construct_id="ApiToken",
            description="Ferry API token: clients send it as 'Authorization: Bearer <token>'",
            length=config.api_token_length,
            arn_env=Env.API_TOKEN_SECRET,
        ),
        Secret(
            key="current_signing_key",
            name=names.signing_key_current_secret,
            construct_id="SigningKeyCurrent",
            description="Ferry current signing key: deliveries are signed with it (Upstash-Signature)",
            length=config.signing_key_length,
            arn_env=Env.SIGNING_KEY_CURRENT_SECRET,
        ),
        Secret(
            key="next_signing_key",
            name=names.signing_key_next_secret,
            construct_id="SigningKeyNext",
            description="Ferry next signing key: becomes current at the next key rotation",
            length=config.signing_key_length,
            arn_env=Env.SIGNING_KEY_NEXT_SECRET,
        ),
    )
    schedule_groups = (
        ScheduleGroup("schedules", names.schedule_group, "Group", Env.SCHEDULE_GROUP),
        ScheduleGroup("delays", names.delay_schedule_group, "DelayGroup", Env.DELAY_SCHEDULE_GROUP),
    )
    return Resources(queues=queues, tables=(table,), secrets=secrets, schedule_groups=schedule_groups)
