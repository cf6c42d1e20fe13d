"""Delivery: the dispatcher Lambda, fed by both message queues, pushing each message to its
destination as a signed HTTP request (ferry/usecases/deliver_message.py)."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as event_sources
from constructs import Construct

from ferry.config import FerryConfig
from stacks.constructs.layer import REPO_ROOT, FerryLayer
from stacks.constructs.secrets import Secrets
from stacks.constructs.storage import Storage


class Delivery(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: FerryConfig,
        layer: FerryLayer,
        storage: Storage,
        secrets: Secrets,
        environment: dict[str, str],
    ) -> None:
        super().__init__(scope, construct_id)
        settings = config.dispatcher
        self.function = layer.function(
            self,
            "Function",
            code_dir=REPO_ROOT / "functions" / "dispatcher",
            description="Ferry dispatcher: delivers queued messages as signed HTTP requests",
            memory_mb=settings.memory_mb,
            timeout_seconds=settings.timeout_seconds,
            environment=environment,
            # The dispatcher sends to the queues it consumes on purpose (delay hops, callbacks,
            # long backoffs), which Lambda's recursive loop detection would stop after 16 rounds.
            recursive_loop=lambda_.RecursiveLoop.ALLOW,
        )

        # Both queues: batches, partial batch failures (a failed record is retried alone, after
        # the visibility the dispatcher set for its backoff), bounded concurrency so a burst of
        # messages cannot exhaust the account's Lambda concurrency or flood destinations.
        common = {
            "report_batch_item_failures": True,
            "max_concurrency": settings.max_concurrency,
        }
        self.function.add_event_source(
            event_sources.SqsEventSource(
                storage.queue,
                batch_size=settings.batch_size,
                max_batching_window=Duration.seconds(settings.max_batching_window_seconds),
                **common,
            )
        )
        # FIFO event sources take no batching window (SQS does not support one for FIFO queues).
        self.function.add_event_source(
            event_sources.SqsEventSource(storage.fifo_queue, batch_size=settings.fifo_batch_size, **common)
        )

        # Consuming (receive, delete, change visibility) is granted by the event sources; the
        # dispatcher also sends: re-enqueued hops and callbacks to the queues, dead letters to
        # the DLQs.
        for queue in (*storage.queues, *storage.dead_letter_queues):
            queue.grant_send_messages(self.function)
        storage.grant_table_read_write(self.function)
        for secret in secrets.signing_keys:
            secret.grant_read(self.function)
