"""Where messages live: the SQS queues that carry them and the DynamoDB table that remembers them.

Queue and table settings come from `ferry.config`, the same values `ferry dev` provisions the
emulator with (ferry/dev/resources.py), so both environments behave alike.
"""

from __future__ import annotations

from aws_cdk import Acknowledgment, Duration, RemovalPolicy, Stack, Validations
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from ferry.config import FerryConfig


class Storage(Construct):
    """The standard and FIFO message queues, each with its DLQ, and the history table."""

    def __init__(self, scope: Construct, construct_id: str, *, config: FerryConfig) -> None:
        super().__init__(scope, construct_id)
        self._config = config
        names = config.names

        self.queue_dlq = self._dead_letter_queue("QueueDlq", names.queue_dlq, fifo=False)
        self.queue = self._message_queue("Queue", names.queue, self.queue_dlq, fifo=False)
        self.fifo_queue_dlq = self._dead_letter_queue("FifoQueueDlq", names.fifo_queue_dlq, fifo=True)
        self.fifo_queue = self._message_queue("FifoQueue", names.fifo_queue, self.fifo_queue_dlq, fifo=True)

        self.table = dynamodb.Table(
            self,
            "Table",
            table_name=names.table,
            partition_key=dynamodb.Attribute(name="pk", type=dynamodb.AttributeType.STRING),
            sort_key=dynamodb.Attribute(name="sk", type=dynamodb.AttributeType.STRING),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            time_to_live_attribute="ttl",
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            encryption=dynamodb.TableEncryption.AWS_MANAGED,
            # Message history and DLQ entries outlive the stack; delete the table by hand.
            removal_policy=RemovalPolicy.RETAIN,
        )
        self.table.add_global_secondary_index(
            index_name="gsi1",
            partition_key=dynamodb.Attribute(name="gsi1pk", type=dynamodb.AttributeType.STRING),
            sort_key=dynamodb.Attribute(name="gsi1sk", type=dynamodb.AttributeType.STRING),
            projection_type=dynamodb.ProjectionType.ALL,
        )

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

    def _common(self) -> dict:
        return {
            "retention_period": Duration.days(self._config.queue_retention_days),
            "encryption": sqs.QueueEncryption.SQS_MANAGED,
            "enforce_ssl": True,
        }

    def _fifo(self) -> dict:
        # Ferry deduplicates itself (DynamoDB), so every send carries its own deduplication id.
        # Throughput is per message group: one group per named queue, many groups in parallel.
        return {
            "fifo": True,
            "content_based_deduplication": False,
            "deduplication_scope": sqs.DeduplicationScope.MESSAGE_GROUP,
            "fifo_throughput_limit": sqs.FifoThroughputLimit.PER_MESSAGE_GROUP_ID,
        }

    def _dead_letter_queue(self, construct_id: str, name: str, *, fifo: bool) -> sqs.Queue:
        return sqs.Queue(
            self,
            construct_id,
            queue_name=name,
            # The AWS console's "Start DLQ redrive" moves messages back to their source queue.
            # allowAll rather than byQueue: naming the source queue here would make the two queues
            # reference each other (the source's redrive policy names this DLQ).
            redrive_allow_policy=sqs.RedriveAllowPolicy(redrive_permission=sqs.RedrivePermission.ALLOW_ALL),
            **self._common(),
            **(self._fifo() if fifo else {}),
        )

    def _message_queue(self, construct_id: str, name: str, dlq: sqs.Queue, *, fifo: bool) -> sqs.Queue:
        return sqs.Queue(
            self,
            construct_id,
            queue_name=name,
            visibility_timeout=Duration.seconds(self._config.dispatcher.queue_visibility_timeout_seconds),
            # The dispatcher dead-letters exhausted messages itself; this is the safety net for
            # messages that crash or time out the dispatcher again and again.
            dead_letter_queue=sqs.DeadLetterQueue(
                queue=dlq, max_receive_count=self._config.max_receive_count
            ),
            **self._common(),
            **(self._fifo() if fifo else {}),
        )
