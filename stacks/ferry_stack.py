"""The Ferry stack: one construct per capability, wired together, and the outputs operators need.

Storage    queues (standard + FIFO, each with a DLQ) and the DynamoDB table
Secrets    API token, current and next signing keys
Schedules  EventBridge Scheduler groups, the role it assumes, its target DLQ
FerryLayer the Lambda layer and the settings every function shares
Delivery   the dispatcher Lambda on both queues
Api        the HTTP API and the API Lambda
Monitoring alarms on DLQs, dispatcher crashes and API 5xx, to one SNS topic
Workflows  the run driver state machine that executes every workflow run
"""

from __future__ import annotations

import dataclasses

from aws_cdk import CfnOutput, Stack
from constructs import Construct

from ferry.config import DEFAULT_CONFIG, Env, FerryConfig, RuntimeSettings
from stacks.constructs.api import Api
from stacks.constructs.delivery import Delivery
from stacks.constructs.layer import FerryLayer
from stacks.constructs.monitoring import Monitoring
from stacks.constructs.schedules import Schedules
from stacks.constructs.secrets import Secrets
from stacks.constructs.storage import Storage
from stacks.constructs.workflows import Workflows

_RUNTIME_DEFAULTS = {f.name: f.default for f in dataclasses.fields(RuntimeSettings)}


class FerryStack(Stack):
    def __init__(
        self, scope: Construct, construct_id: str, *, config: FerryConfig = DEFAULT_CONFIG, **kwargs
    ) -> None:
        kwargs.setdefault(
            "description", "Ferry: serverless background jobs (QStash-compatible API on SQS and Lambda)"
        )
        super().__init__(scope, construct_id, **kwargs)
        self.config = config

        self.storage = Storage(self, "Storage", config=config)
        self.secrets = Secrets(self, "Secrets", config=config)
        self.schedules = Schedules(self, "Schedules", config=config, queue=self.storage.queue)
        self.workflows = Workflows(self, "Workflows", config=config, queue=self.storage.queue)
        self.layer = FerryLayer(self, "Runtime")
        environment = self.function_environment()

        self.delivery = Delivery(
            self,
            "Delivery",
            config=config,
            layer=self.layer,
            storage=self.storage,
            secrets=self.secrets,
            environment=environment,
        )
        self.api = Api(
            self,
            "Api",
            config=config,
            layer=self.layer,
            storage=self.storage,
            secrets=self.secrets,
            schedules=self.schedules,
            environment=environment,
        )
        self.workflows.grant(api=self.api.function, dispatcher=self.delivery.function)
        self.monitoring = Monitoring(
            self,
            "Monitoring",
            dead_letter_queues={
                "MessagesDlq": self.storage.queue_dlq,
                "FifoMessagesDlq": self.storage.fifo_queue_dlq,
            },
            scheduler_dlq=self.schedules.dlq,
            dispatcher=self.delivery.function,
            http_api=self.api.http_api,
            alarm_email=self.node.try_get_context("alarmEmail"),
        )

        self._outputs()

    def function_environment(self) -> dict[str, str]:
        """Every `ferry.config.Env` variable, as `RuntimeSettings.from_env` reads it in the Lambdas."""
        storage, secrets, schedules = self.storage, self.secrets, self.schedules
        return {
            Env.QUEUE_URL: storage.queue.queue_url,
            Env.QUEUE_DLQ_URL: storage.queue_dlq.queue_url,
            Env.FIFO_QUEUE_URL: storage.fifo_queue.queue_url,
            Env.FIFO_QUEUE_DLQ_URL: storage.fifo_queue_dlq.queue_url,
            Env.QUEUE_ARN: storage.queue.queue_arn,
            Env.TABLE_NAME: storage.table.table_name,
            Env.API_TOKEN_SECRET: secrets.api_token.secret_arn,
            Env.SIGNING_KEY_CURRENT_SECRET: secrets.signing_key_current.secret_arn,
            Env.SIGNING_KEY_NEXT_SECRET: secrets.signing_key_next.secret_arn,
            Env.ALLOW_PRIVATE_DESTINATIONS: "false",
            Env.LOG_BODIES: "false",
            Env.SECRETS_MAX_AGE: str(_RUNTIME_DEFAULTS["secrets_max_age_seconds"]),
            Env.HISTORY_RETENTION_DAYS: str(self.config.history_retention_days),
            Env.SCHEDULER_ROLE_ARN: schedules.role.role_arn,
            Env.SCHEDULE_GROUP: schedules.group.schedule_group_name,
            Env.DELAY_SCHEDULE_GROUP: schedules.delay_group.schedule_group_name,
            Env.SCHEDULER_DLQ_ARN: schedules.dlq.queue_arn,
            # Lambda's active tracing records every invocation without any SDK; "true" adds AWS
            # calls as X-Ray subsegments, at about 250 ms per cold start (docs/benchmarks.md).
            Env.TRACE_AWS_CALLS: "false",
            Env.DISPATCHER_CONCURRENCY: str(self.config.dispatcher.concurrency),
            Env.HISTORY_LEVEL: self.config.history_level,
            Env.BACKPRESSURE_SECONDS: str(self.config.default_backpressure_seconds),
            Env.RUN_DRIVER_ARN: self.workflows.state_machine.state_machine_arn,
        }

    def _outputs(self) -> None:
        storage, secrets = self.storage, self.secrets
        outputs = {
            "ApiUrl": (self.api.url, "Base URL of the QStash-compatible API (QSTASH_URL)"),
            "ApiTokenSecretArn": (
                secrets.api_token.secret_arn,
                "Secret holding the API token (QSTASH_TOKEN)",
            ),
            "SigningKeyCurrentSecretArn": (
                secrets.signing_key_current.secret_arn,
                "Secret holding the current signing key (QSTASH_CURRENT_SIGNING_KEY)",
            ),
            "SigningKeyNextSecretArn": (
                secrets.signing_key_next.secret_arn,
                "Secret holding the next signing key (QSTASH_NEXT_SIGNING_KEY)",
            ),
            "QueueUrl": (storage.queue.queue_url, "Standard message queue"),
            "FifoQueueUrl": (storage.fifo_queue.queue_url, "FIFO queue for named (ordered) queues"),
            "QueueDlqUrl": (storage.queue_dlq.queue_url, "Dead-letter queue of the standard queue"),
            "FifoQueueDlqUrl": (storage.fifo_queue_dlq.queue_url, "Dead-letter queue of the FIFO queue"),
            "SchedulerDlqUrl": (
                self.schedules.dlq.queue_url,
                "Sends EventBridge Scheduler gave up on (schedule firings, long delays)",
            ),
            "TableName": (storage.table.table_name, "DynamoDB table: message history, logs, DLQ entries"),
            "AlarmTopicArn": (
                self.monitoring.topic.topic_arn,
                "SNS topic of Ferry's alarms (DLQ not empty, dispatcher crashes, API 5xx): subscribe to it",
            ),
        }
        for output_id, (value, description) in outputs.items():
            CfnOutput(self, output_id, value=value, description=description)
