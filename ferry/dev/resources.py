"""Creates in the emulator the resources the CDK stack defines, from the same `ferry.config`.

Whatever the stack sets that changes behaviour (queue redrive, visibility, retention, FIFO,
table keys, GSI, TTL) is set here from the same values; `tests/cdk` asserts the stack side.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from ferry.config import Env, FerryConfig


@dataclass(frozen=True)
class DevSecrets:
    """Fixed, documented dev credentials (override with flags or env; never use them in AWS)."""

    api_token: str = "ferry-dev-token"
    current_signing_key: str = "sig_ferrydevcurrentsigningkey0000000000000"
    next_signing_key: str = "sig_ferrydevnextsigningkey000000000000000000"


def _queue(sqs: Any, name: str, attributes: dict[str, str]) -> tuple[str, str]:
    url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return url, arn


def provision(
    *,
    sqs: Any,
    dynamodb: Any,
    secretsmanager: Any,
    scheduler: Any,
    iam: Any,
    config: FerryConfig,
    secrets: DevSecrets,
    stepfunctions: Any = None,
) -> dict[str, str]:
    """Create everything; returns the environment variables the handlers read."""
    names = config.names
    retention = str(config.queue_retention_days * 86_400)
    visibility = str(config.dispatcher.queue_visibility_timeout_seconds)
    common = {"MessageRetentionPeriod": retention, "SqsManagedSseEnabled": "true"}

    dlq_url, dlq_arn = _queue(
        sqs, names.queue_dlq, {**common, "RedriveAllowPolicy": json.dumps({"redrivePermission": "allowAll"})}
    )
    fifo_dlq_url, fifo_dlq_arn = _queue(
        sqs,
        names.fifo_queue_dlq,
        {**common, "FifoQueue": "true", "RedriveAllowPolicy": json.dumps({"redrivePermission": "allowAll"})},
    )
    redrive = {"maxReceiveCount": config.max_receive_count}
    queue_url, queue_arn = _queue(
        sqs,
        names.queue,
        {
            **common,
            "VisibilityTimeout": visibility,
            "RedrivePolicy": json.dumps({**redrive, "deadLetterTargetArn": dlq_arn}),
        },
    )
    fifo_url, _ = _queue(
        sqs,
        names.fifo_queue,
        {
            **common,
            "FifoQueue": "true",
            "VisibilityTimeout": visibility,
            "RedrivePolicy": json.dumps({**redrive, "deadLetterTargetArn": fifo_dlq_arn}),
        },
    )

    dynamodb.create_table(
        TableName=names.table,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[
            {"AttributeName": name, "AttributeType": "S"} for name in ("pk", "sk", "gsi1pk", "gsi1sk")
        ],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "gsi1",
                "KeySchema": [
                    {"AttributeName": "gsi1pk", "KeyType": "HASH"},
                    {"AttributeName": "gsi1sk", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
        SSESpecification={"Enabled": True},
    )
    dynamodb.update_time_to_live(
        TableName=names.table, TimeToLiveSpecification={"Enabled": True, "AttributeName": "ttl"}
    )

    secret_arns = {}
    for name, value in (
        (names.api_token_secret, secrets.api_token),
        (names.signing_key_current_secret, secrets.current_signing_key),
        (names.signing_key_next_secret, secrets.next_signing_key),
    ):
        secret_arns[name] = secretsmanager.create_secret(Name=name, SecretString=value)["ARN"]

    _, scheduler_dlq_arn = _queue(sqs, names.scheduler_dlq, common)
    for group in (names.schedule_group, names.delay_schedule_group):
        scheduler.create_schedule_group(Name=group)
    role_arn = iam.create_role(
        RoleName=f"{names.prefix}-scheduler",
        AssumeRolePolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": "scheduler.amazonaws.com"},
                        "Action": "sts:AssumeRole",
                    }
                ],
            }
        ),
    )["Role"]["Arn"]

    workflows = {}
    if stepfunctions is not None:
        # The workflow run driver: the very definition the CDK construct deploys.
        from ferry.domain.workflow_driver import run_driver_definition_json

        workflows[Env.RUN_DRIVER_ARN] = stepfunctions.create_state_machine(
            name=names.run_driver,
            definition=run_driver_definition_json(queue_url),
            roleArn=f"arn:aws:iam::123456789012:role/{names.prefix}-run-driver",
            type="STANDARD",
        )["stateMachineArn"]

    return {
        **workflows,
        Env.QUEUE_URL: queue_url,
        Env.QUEUE_ARN: queue_arn,
        Env.SCHEDULER_ROLE_ARN: role_arn,
        Env.SCHEDULE_GROUP: names.schedule_group,
        Env.DELAY_SCHEDULE_GROUP: names.delay_schedule_group,
        Env.SCHEDULER_DLQ_ARN: scheduler_dlq_arn,
        Env.QUEUE_DLQ_URL: dlq_url,
        Env.FIFO_QUEUE_URL: fifo_url,
        Env.FIFO_QUEUE_DLQ_URL: fifo_dlq_url,
        Env.TABLE_NAME: names.table,
        Env.API_TOKEN_SECRET: secret_arns[names.api_token_secret],
        Env.SIGNING_KEY_CURRENT_SECRET: secret_arns[names.signing_key_current_secret],
        Env.SIGNING_KEY_NEXT_SECRET: secret_arns[names.signing_key_next_secret],
        Env.ALLOW_PRIVATE_DESTINATIONS: "true",
        Env.LOG_BODIES: "false",
    }
