"""The synthesized template and `ferry dev` deploy the same resources: every queue, table, schedule
group, state machine and secret of the template is compared, attribute by attribute, with what
`ferry dev` provisions in the emulator (both built from ferry/resources.py). A resource or a
setting on one side only fails here, and so does a CloudFormation property or resource type
this test does not know yet (teach it, rather than letting the two sides drift unseen)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from ferry.config import DEFAULT_CONFIG, Env
from ferry.dev.resources import DevSecrets, provision
from ferry.resources import declare
from tests.cdk.conftest import Synth

REGION = "us-east-1"

# Template resource types ferry dev does not create, and why; every other type is compared below.
NOT_IN_DEV = {
    "AWS::SQS::QueuePolicy": "TLS-only queue policies; the emulator enforces no IAM",
    "AWS::IAM::Role": "execution roles; the emulator enforces no IAM (ferry dev makes the Scheduler role)",
    "AWS::IAM::Policy": "least-privilege grants; the emulator enforces no IAM",
    "AWS::Lambda::Function": "ferry dev calls the same handlers in-process",
    "AWS::Lambda::LayerVersion": "ferry dev imports the installed package",
    "AWS::Lambda::EventSourceMapping": "ferry dev's SQS pollers stand in for it",
    "AWS::Lambda::Permission": "API Gateway's right to invoke the API function",
    "AWS::ApiGatewayV2::Api": "ferry dev's gateway stands in for the HTTP API",
    "AWS::ApiGatewayV2::Integration": "ferry dev's gateway stands in for the HTTP API",
    "AWS::ApiGatewayV2::Route": "ferry dev's gateway stands in for the HTTP API",
    "AWS::ApiGatewayV2::Stage": "ferry dev's gateway stands in for the HTTP API",
    "AWS::Logs::LogGroup": "ferry dev logs to its console",
    "AWS::CloudWatch::Alarm": "alarms watch AWS metrics only",
    "AWS::SNS::Topic": "the alarm topic",
    "AWS::SNS::TopicPolicy": "the alarm topic",
}
COMPARED = {
    "AWS::SQS::Queue",
    "AWS::DynamoDB::Table",
    "AWS::SecretsManager::Secret",
    "AWS::Scheduler::ScheduleGroup",
    "AWS::StepFunctions::StateMachine",
}

# SQS queue attributes: CloudFormation properties and GetQueueAttributes use the same names.
QUEUE_ATTRIBUTES = {
    "FifoQueue",
    "ContentBasedDeduplication",
    "DeduplicationScope",
    "FifoThroughputLimit",
    "MessageRetentionPeriod",
    "VisibilityTimeout",
    "MaximumMessageSize",
    "DelaySeconds",
    "ReceiveMessageWaitTimeSeconds",
    "SqsManagedSseEnabled",
    "KmsMasterKeyId",
    "KmsDataKeyReusePeriodSeconds",
    "RedrivePolicy",
    "RedriveAllowPolicy",
}
# What AWS uses when the template leaves an attribute out (and the emulator reports it).
QUEUE_DEFAULTS = {
    "DelaySeconds": "0",
    "ReceiveMessageWaitTimeSeconds": "0",
    "VisibilityTimeout": "30",
    "MessageRetentionPeriod": "345600",
}
# Attributes moto 5.2 accepts on CreateQueue but does not keep: compared as ferry dev sends them.
NOT_KEPT_BY_EMULATOR = {"RedriveAllowPolicy"}
# Counters and timestamps the emulator reports about a queue's life, not its settings.
QUEUE_RUNTIME = {
    "QueueArn",
    "CreatedTimestamp",
    "LastModifiedTimestamp",
    "ApproximateNumberOfMessages",
    "ApproximateNumberOfMessagesDelayed",
    "ApproximateNumberOfMessagesNotVisible",
}
TABLE_PROPERTIES = {
    "TableName",
    "KeySchema",
    "AttributeDefinitions",
    "BillingMode",
    "GlobalSecondaryIndexes",
    "LocalSecondaryIndexes",
    "TimeToLiveSpecification",
    "StreamSpecification",
    "SSESpecification",
    "PointInTimeRecoverySpecification",
}
SECRET_PROPERTIES = {"Name", "Description", "GenerateSecretString"}
STATE_MACHINE_PROPERTIES = {
    "StateMachineName",
    "StateMachineType",
    "DefinitionString",
    "Definition",
    "DefinitionSubstitutions",
    "RoleArn",
}


# --- what ferry dev provisions -------------------------------------------------------------------


@pytest.fixture(scope="module")
def dev() -> Iterator[dict[str, Any]]:
    """ferry dev's provisioning, run on the emulator in this process, read back through the AWS APIs."""
    with mock_aws():
        session = boto3.session.Session(region_name=REGION)
        env = provision(session, config=DEFAULT_CONFIG, secrets=DevSecrets())
        yield {"env": env, **read_back(session)}


def read_back(session: boto3.session.Session) -> dict[str, Any]:
    sqs, dynamodb = session.client("sqs"), session.client("dynamodb")
    resources = declare(DEFAULT_CONFIG)
    sent = {
        queue.name: queue.sqs_attributes(lambda key: f"arn:aws:sqs:{REGION}:0:{resources.queue(key).name}")
        for queue in resources.queues
    }
    queues = {}
    for url in sqs.list_queues().get("QueueUrls", []):
        name = url.rsplit("/", 1)[-1]
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        unknown = set(attributes) - QUEUE_ATTRIBUTES - QUEUE_RUNTIME
        assert not unknown, f"the emulator reports queue attributes this test does not compare: {unknown}"
        attributes.update({k: v for k, v in sent.get(name, {}).items() if k in NOT_KEPT_BY_EMULATOR})
        queues[name] = _queue_settings(
            {k: v for k, v in attributes.items() if k in QUEUE_ATTRIBUTES}, lambda arn: arn.rsplit(":", 1)[-1]
        )
    tables = {}
    for name in dynamodb.list_tables()["TableNames"]:
        table = dynamodb.describe_table(TableName=name)["Table"]
        ttl = dynamodb.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
        backups = dynamodb.describe_continuous_backups(TableName=name)["ContinuousBackupsDescription"]
        stream = table.get("StreamSpecification") or {}
        tables[name] = _table_settings(
            keys=table["KeySchema"],
            attributes=table["AttributeDefinitions"],
            billing=table["BillingModeSummary"]["BillingMode"],
            global_indexes=table.get("GlobalSecondaryIndexes") or [],
            local_indexes=table.get("LocalSecondaryIndexes") or [],
            ttl=ttl.get("AttributeName") if ttl.get("TimeToLiveStatus") == "ENABLED" else None,
            stream=stream.get("StreamViewType") if stream.get("StreamEnabled") else None,
            encrypted=(table.get("SSEDescription") or {}).get("Status") == "ENABLED",
            point_in_time_recovery=backups["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"]
            == "ENABLED",
        )
    secrets = {
        s["Name"]: {"description": s.get("Description")}
        for s in session.client("secretsmanager").list_secrets()["SecretList"]
    }
    groups = {
        g["Name"]
        for g in session.client("scheduler").list_schedule_groups()["ScheduleGroups"]
        if g["Name"] != "default"  # every Scheduler account has it; Ferry never uses it
    }
    sfn = session.client("stepfunctions")
    machines = {}
    for machine in sfn.list_state_machines()["stateMachines"]:
        described = sfn.describe_state_machine(stateMachineArn=machine["stateMachineArn"])
        machines[machine["name"]] = {
            "type": described["type"],
            "definition": json.loads(described["definition"]),
        }
    return {"queues": queues, "tables": tables, "secrets": secrets, "groups": groups, "machines": machines}


# --- what the template deploys -------------------------------------------------------------------


def of_type(synth: Synth, resource_type: str) -> dict[str, dict[str, Any]]:
    return {k: r["Properties"] for k, r in synth.resources.items() if r["Type"] == resource_type}


def template_queues(synth: Synth) -> dict[str, dict[str, Any]]:
    queues = of_type(synth, "AWS::SQS::Queue")
    name_of = {logical_id: props["QueueName"] for logical_id, props in queues.items()}
    result = {}
    for props in queues.values():
        unknown = set(props) - QUEUE_ATTRIBUTES - {"QueueName", "Tags"}
        assert not unknown, f"queue {props['QueueName']}: properties this test does not compare: {unknown}"
        attributes = {**QUEUE_DEFAULTS}
        for name, value in props.items():
            if name in QUEUE_ATTRIBUTES:
                attributes[name] = value
        result[props["QueueName"]] = _queue_settings(attributes, lambda arn: name_of[arn["Fn::GetAtt"][0]])
    return result


def template_tables(synth: Synth) -> dict[str, dict[str, Any]]:
    result = {}
    for props in of_type(synth, "AWS::DynamoDB::Table").values():
        unknown = set(props) - TABLE_PROPERTIES
        assert not unknown, f"table {props['TableName']}: properties this test does not compare: {unknown}"
        ttl = props.get("TimeToLiveSpecification") or {}
        stream = props.get("StreamSpecification") or {}
        result[props["TableName"]] = _table_settings(
            keys=props["KeySchema"],
            attributes=props["AttributeDefinitions"],
            billing=props.get("BillingMode", "PROVISIONED"),
            global_indexes=props.get("GlobalSecondaryIndexes") or [],
            local_indexes=props.get("LocalSecondaryIndexes") or [],
            ttl=ttl.get("AttributeName") if ttl.get("Enabled") else None,
            stream=stream.get("StreamViewType"),
            encrypted=bool((props.get("SSESpecification") or {}).get("SSEEnabled")),
            point_in_time_recovery=bool(
                (props.get("PointInTimeRecoverySpecification") or {}).get("PointInTimeRecoveryEnabled")
            ),
        )
    return result


def template_machines(synth: Synth) -> dict[str, dict[str, Any]]:
    result = {}
    for logical_id, props in of_type(synth, "AWS::StepFunctions::StateMachine").items():
        unknown = set(props) - STATE_MACHINE_PROPERTIES
        assert not unknown, f"state machine {logical_id}: properties this test does not compare: {unknown}"
        assert "StateMachineName" in props, f"state machine {logical_id} needs the declared name"
        definition = props.get("Definition") or props.get("DefinitionString")
        assert isinstance(definition, dict | str), (
            f"state machine {logical_id}: keep the definition a plain document and pass identifiers "
            "as DefinitionSubstitutions (ferry/resources.py StateMachine)"
        )
        result[props["StateMachineName"]] = {
            "type": props.get("StateMachineType", "STANDARD"),
            "definition": json.loads(definition) if isinstance(definition, str) else definition,
            "substitutions": sorted(props.get("DefinitionSubstitutions") or {}),
        }
    return result


# --- one vocabulary for both sides ---------------------------------------------------------------


def _queue_settings(attributes: dict[str, Any], dead_letter_name: Any) -> dict[str, Any]:
    settings: dict[str, Any] = {}
    for name, value in attributes.items():
        if name in ("RedrivePolicy", "RedriveAllowPolicy"):
            value = json.loads(value) if isinstance(value, str) else dict(value)
            if "deadLetterTargetArn" in value:
                value = {
                    "deadLetterTarget": dead_letter_name(value["deadLetterTargetArn"]),
                    "maxReceiveCount": int(value["maxReceiveCount"]),
                }
        elif isinstance(value, bool):
            value = str(value).lower()
        else:
            value = str(value)
        settings[name] = value
    return settings


def _keys(schema: list[dict[str, str]]) -> list[tuple[str, str]]:
    return [(key["AttributeName"], key["KeyType"]) for key in schema]


def _indexes(indexes: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        index["IndexName"]: {
            "keys": _keys(index["KeySchema"]),
            "projection": index["Projection"]["ProjectionType"],
            "non_key_attributes": sorted(index["Projection"].get("NonKeyAttributes") or []),
        }
        for index in indexes
    }


def _table_settings(*, keys, attributes, global_indexes, local_indexes, **rest) -> dict[str, Any]:
    return {
        "keys": _keys(keys),
        "attributes": sorted((a["AttributeName"], a["AttributeType"]) for a in attributes),
        "global_indexes": _indexes(global_indexes),
        "local_indexes": _indexes(local_indexes),
        **rest,
    }


# --- the comparisons -----------------------------------------------------------------------------


def test_every_resource_type_in_the_template_is_compared_or_known_not_to_run_in_ferry_dev(synth):
    types = {resource["Type"] for resource in synth.resources.values()}
    unknown = types - COMPARED - set(NOT_IN_DEV)
    assert not unknown, f"resource types neither compared with ferry dev nor listed in NOT_IN_DEV: {unknown}"


def test_every_queue_has_the_same_attributes_in_the_template_and_in_ferry_dev(synth, dev):
    template = template_queues(synth)
    assert sorted(template) == sorted(dev["queues"])
    for name, settings in template.items():
        assert dev["queues"][name] == settings, name


def test_the_fifo_queues_deduplicate_per_message_group_on_both_sides(synth, dev):
    for name in (DEFAULT_CONFIG.names.fifo_queue, DEFAULT_CONFIG.names.fifo_queue_dlq):
        expected = {
            "FifoQueue": "true",
            "ContentBasedDeduplication": "false",
            "DeduplicationScope": "messageGroup",
            "FifoThroughputLimit": "perMessageGroupId",
        }
        for side in (template_queues(synth)[name], dev["queues"][name]):
            assert {key: side.get(key) for key in expected} == expected


def test_every_table_has_the_same_keys_indexes_ttl_stream_and_protection_on_both_sides(synth, dev):
    template = template_tables(synth)
    assert sorted(template) == sorted(dev["tables"])
    for name, settings in template.items():
        assert dev["tables"][name] == settings, name


def test_every_secret_has_the_same_name_and_description_on_both_sides(synth, dev):
    template = {}
    for props in of_type(synth, "AWS::SecretsManager::Secret").values():
        unknown = set(props) - SECRET_PROPERTIES
        assert not unknown, f"secret {props['Name']}: properties this test does not compare: {unknown}"
        template[props["Name"]] = {"description": props.get("Description")}
    assert template == dev["secrets"]


def test_every_schedule_group_exists_on_both_sides(synth, dev):
    template = {props["Name"] for props in of_type(synth, "AWS::Scheduler::ScheduleGroup").values()}
    assert template == dev["groups"]


def test_every_state_machine_has_the_same_type_and_definition_on_both_sides(synth, dev):
    template = template_machines(synth)
    assert sorted(template) == sorted(dev["machines"])
    declared = {machine.name: machine for machine in declare(DEFAULT_CONFIG).state_machines}
    for name, settings in template.items():
        machine = declared[name]
        assert settings["substitutions"] == sorted(machine.definition_substitutions)
        assert settings["definition"] == machine.definition, "the template deploys the declared definition"
        assert dev["machines"][name]["type"] == settings["type"]
        # ferry dev fills the placeholders CDK leaves to CloudFormation.
        filled = json.dumps(machine.definition)
        for placeholder, variable in machine.definition_substitutions.items():
            filled = filled.replace("${" + placeholder + "}", dev["env"][variable])
        assert dev["machines"][name]["definition"] == json.loads(filled)


def test_every_identifier_ferry_dev_hands_the_handlers_is_set_on_both_lambda_functions(synth, dev):
    dev_only = {Env.ALLOW_PRIVATE_DESTINATIONS, Env.LOG_BODIES}  # set on both, with other values
    for props in of_type(synth, "AWS::Lambda::Function").values():
        variables = set(props["Environment"]["Variables"])
        missing = set(dev["env"]) - variables
        assert not missing, f"{props.get('FunctionName', 'a function')} lacks {missing}"
        assert dev_only <= variables


def test_ferry_dev_reads_the_declaration_without_importing_the_cdk():
    code = (
        "import sys, ferry.dev.stack, ferry.resources; assert 'aws_cdk' not in sys.modules, 'imports the CDK'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
