"""Where messages live: the SQS queues that carry them and the DynamoDB table that remembers them.

Built from the one resource declaration (`ferry/resources.py`), which `ferry dev` provisions the
emulator from too; tests/cdk/test_resource_declaration.py compares the two.
"""

from __future__ import annotations

from aws_cdk import Acknowledgment, Duration, RemovalPolicy, Stack, Validations
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from ferry.config import FerryConfig
from ferry.resources import MAX_MESSAGE_BYTES, Key, Queue, Table, declare


class Storage(Construct):
    """Every queue the declaration gives to `Storage` (the standard and FIFO message queues, each
    with its DLQ) and the history table."""

    def __init__(self, scope: Construct, construct_id: str, *, config: FerryConfig) -> None:
        super().__init__(scope, construct_id)
        self.resources = declare(config)
        self.queues_by_key: dict[str, sqs.Queue] = {}
        # Dead-letter queues first: a queue's redrive policy names its DLQ.
        specs = self.resources.queues_built_by("Storage")
        for spec in sorted(specs, key=lambda spec: spec.dead_letter is not None):
            dlq = self.queues_by_key[spec.dead_letter.queue] if spec.dead_letter else None
            self.queues_by_key[spec.key] = declared_queue(self, spec, dead_letter_queue=dlq)

        self.queue = self.queues_by_key["queue"]
        self.queue_dlq = self.queues_by_key["queue_dlq"]
        self.fifo_queue = self.queues_by_key["fifo_queue"]
        self.fifo_queue_dlq = self.queues_by_key["fifo_queue_dlq"]
        self.tables_by_key = {spec.key: self._table(spec) for spec in self.resources.tables}
        self.table = self.tables_by_key["table"]

    def grant_table_read_write(self, grantee: iam.IGrantable) -> None:
        """Read and write items in the table and query its index."""
        self.table.grant_read_write_data(grantee)
        if isinstance(grantee, Construct):
            table_id = Stack.of(self).get_logical_id(self.table.node.default_child)
            Validations.of(grantee).acknowledge(
                Acknowledgment(
                    id=f"AwsSolutions-IAM5[Resource::<{table_id}.Arn>/index/*]",
                    reason=(
                        "The table's indexes (only gsi1): the message log listing queries gsi1. "
                        "Granted with the table's own grant_read_write_data."
                    ),
                )
            )

    @property
    def queues(self) -> list[sqs.Queue]:
        return [self.queue, self.fifo_queue]

    @property
    def dead_letter_queues(self) -> list[sqs.Queue]:
        return [self.queue_dlq, self.fifo_queue_dlq]

    def _table(self, spec: Table) -> dynamodb.Table:
        table = dynamodb.Table(
            self,
            spec.construct_id,
            table_name=spec.name,
            partition_key=_attribute(spec.partition_key),
            sort_key=_attribute(spec.sort_key) if spec.sort_key else None,
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            time_to_live_attribute=spec.ttl_attribute,
            stream=dynamodb.StreamViewType(spec.stream) if spec.stream else None,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=spec.point_in_time_recovery
            ),
            encryption=dynamodb.TableEncryption.AWS_MANAGED,
            # Message history and DLQ entries outlive the stack; delete the table by hand.
            removal_policy=RemovalPolicy.RETAIN,
        )
        for index in spec.indexes:
            table.add_global_secondary_index(
                index_name=index.name,
                partition_key=_attribute(index.partition_key),
                sort_key=_attribute(index.sort_key) if index.sort_key else None,
                projection_type=dynamodb.ProjectionType(index.projection),
            )
        return table


# The declaration speaks the AWS APIs' vocabulary; the CDK has enums of its own.
_KEY_TYPES = {
    "S": dynamodb.AttributeType.STRING,
    "N": dynamodb.AttributeType.NUMBER,
    "B": dynamodb.AttributeType.BINARY,
}
_DEDUPLICATION_SCOPES = {
    "messageGroup": sqs.DeduplicationScope.MESSAGE_GROUP,
    "queue": sqs.DeduplicationScope.QUEUE,
}
_THROUGHPUT_LIMITS = {
    "perMessageGroupId": sqs.FifoThroughputLimit.PER_MESSAGE_GROUP_ID,
    "perQueue": sqs.FifoThroughputLimit.PER_QUEUE,
}


def _attribute(key: Key) -> dynamodb.Attribute:
    return dynamodb.Attribute(name=key.name, type=_KEY_TYPES[key.type])


def declared_queue(
    scope: Construct, spec: Queue, *, dead_letter_queue: sqs.IQueue | None = None
) -> sqs.Queue:
    """The SQS queue `spec` declares (encrypted, TLS only), under `scope`."""
    fifo: dict = {}
    if spec.fifo:
        fifo = {
            "fifo": True,
            "content_based_deduplication": spec.content_based_deduplication,
            "deduplication_scope": _DEDUPLICATION_SCOPES.get(spec.deduplication_scope or ""),
            "fifo_throughput_limit": _THROUGHPUT_LIMITS.get(spec.fifo_throughput_limit or ""),
        }
    dead_letter = None
    if spec.dead_letter is not None:
        assert dead_letter_queue is not None, f"{spec.name} needs its dead-letter queue"
        dead_letter = sqs.DeadLetterQueue(
            queue=dead_letter_queue, max_receive_count=spec.dead_letter.max_receive_count
        )
    return sqs.Queue(
        scope,
        spec.construct_id,
        queue_name=spec.name,
        retention_period=Duration.seconds(spec.retention_seconds),
        visibility_timeout=Duration.seconds(spec.visibility_timeout_seconds),
        max_message_size_bytes=MAX_MESSAGE_BYTES,
        encryption=sqs.QueueEncryption.SQS_MANAGED,
        enforce_ssl=True,
        dead_letter_queue=dead_letter,
        # allowAll rather than byQueue: naming the source queue here would make the two queues
        # reference each other (the source's redrive policy names this DLQ).
        redrive_allow_policy=sqs.RedriveAllowPolicy(redrive_permission=sqs.RedrivePermission.ALLOW_ALL)
        if spec.redrive_allow_all
        else None,
        **fifo,
    )
