"""Creates in the emulator every resource of the one declaration (`ferry/resources.py`) that the
CDK stack builds too; tests/cdk/test_resource_declaration.py compares the two attribute by
attribute. Nothing here is specific to one queue or table: a declared resource is provisioned.
"""

from __future__ import annotations

import json
import secrets as random
from dataclasses import dataclass
from typing import Any

from ferry.config import Env, FerryConfig
from ferry.resources import Resources, Table, declare


@dataclass(frozen=True)
class DevSecrets:
    """Fixed, documented dev credentials (override with flags or env; never use them in AWS).
    Field names are the `key`s of the declared secrets; a secret without a field here gets a
    random value."""

    api_token: str = "ferry-dev-token"
    current_signing_key: str = "sig_ferrydevcurrentsigningkey0000000000000"
    next_signing_key: str = "sig_ferrydevnextsigningkey000000000000000000"


_ASSUMED_BY = {
    "scheduler": "scheduler.amazonaws.com",
    "states": "states.amazonaws.com",
}


# The AWS services the declared resources live in (boto3 client names).
SERVICES = ("sqs", "dynamodb", "secretsmanager", "scheduler", "iam", "stepfunctions")


def provision(
    session: Any, *, config: FerryConfig, secrets: DevSecrets, resources: Resources | None = None
) -> dict[str, str]:
    """Create everything declared with `session`'s clients; returns the environment variables
    the handlers read."""
    clients = {name: session.client(name) for name in SERVICES}
    return _provision(**clients, config=config, secrets=secrets, resources=resources or declare(config))


def _provision(
    *,
    sqs: Any,
    dynamodb: Any,
    secretsmanager: Any,
    scheduler: Any,
    iam: Any,
    stepfunctions: Any,
    config: FerryConfig,
    secrets: DevSecrets,
    resources: Resources,
) -> dict[str, str]:
    env: dict[str, str] = {}

    arns: dict[str, str] = {}
    # Dead-letter queues first: a queue's redrive policy names its DLQ's ARN.
    for queue in sorted(resources.queues, key=lambda queue: queue.dead_letter is not None):
        url = sqs.create_queue(QueueName=queue.name, Attributes=queue.sqs_attributes(arns.__getitem__))[
            "QueueUrl"
        ]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        arns[queue.key] = arn
        _set(env, queue.url_env, url)
        _set(env, queue.arn_env, arn)

    for table in resources.tables:
        _create_table(dynamodb, table)
        _set(env, table.name_env, table.name)

    for secret in resources.secrets:
        value = getattr(secrets, secret.key, None) or random.token_urlsafe(secret.length)[: secret.length]
        arn = secretsmanager.create_secret(
            Name=secret.name, Description=secret.description, SecretString=value
        )["ARN"]
        _set(env, secret.arn_env, arn)

    for group in resources.schedule_groups:
        scheduler.create_schedule_group(Name=group.name)
        _set(env, group.name_env, group.name)
    env[Env.SCHEDULER_ROLE_ARN] = _role(iam, f"{config.names.prefix}-scheduler", _ASSUMED_BY["scheduler"])

    if resources.state_machines:
        role = _role(iam, f"{config.names.prefix}-workflows", _ASSUMED_BY["states"])
        for machine in resources.state_machines:
            definition = json.dumps(machine.definition)
            # What CDK passes as DefinitionSubstitutions, ferry dev fills in from the variables.
            for placeholder, variable in machine.definition_substitutions.items():
                definition = definition.replace("${" + placeholder + "}", env[variable])
            arn = stepfunctions.create_state_machine(
                name=machine.name, definition=definition, roleArn=role, type=machine.type
            )["stateMachineArn"]
            _set(env, machine.arn_env, arn)

    env[Env.ALLOW_PRIVATE_DESTINATIONS] = "true"
    env[Env.LOG_BODIES] = "false"
    return env


def _set(env: dict[str, str], name: str | None, value: str) -> None:
    if name is not None:
        env[name] = value


def _create_table(dynamodb: Any, table: Table) -> None:
    def schema(partition: Any, sort: Any) -> list[dict[str, str]]:
        keys = [{"AttributeName": partition.name, "KeyType": "HASH"}]
        if sort is not None:
            keys.append({"AttributeName": sort.name, "KeyType": "RANGE"})
        return keys

    request: dict[str, Any] = {
        "TableName": table.name,
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [
            {"AttributeName": key.name, "AttributeType": key.type} for key in table.key_attributes
        ],
        "KeySchema": schema(table.partition_key, table.sort_key),
        "SSESpecification": {"Enabled": True},
    }
    if table.indexes:
        request["GlobalSecondaryIndexes"] = [
            {
                "IndexName": index.name,
                "KeySchema": schema(index.partition_key, index.sort_key),
                "Projection": {"ProjectionType": index.projection},
            }
            for index in table.indexes
        ]
    if table.stream:
        request["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": table.stream}
    dynamodb.create_table(**request)
    if table.ttl_attribute:
        dynamodb.update_time_to_live(
            TableName=table.name,
            TimeToLiveSpecification={"Enabled": True, "AttributeName": table.ttl_attribute},
        )
    if table.point_in_time_recovery:
        dynamodb.update_continuous_backups(
            TableName=table.name, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
        )


def _role(iam: Any, name: str, service: str) -> str:
    document = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}],
    }
    return iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(document))["Role"]["Arn"]
