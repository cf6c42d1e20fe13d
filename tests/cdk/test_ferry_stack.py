"""What the synthesized Ferry stack contains, and what each role may do."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from aws_cdk.assertions import Match, Template

from ferry.config import DEFAULT_CONFIG, Env
from tests.cdk.conftest import Synth

pytestmark = pytest.mark.cdk

ROOT = Path(__file__).resolve().parents[2]
CONFIG = DEFAULT_CONFIG
NAMES = CONFIG.names


# --- helpers: find resources by type and construct, and what a role is allowed to do --------------


def logical_id(synth: Synth, resource_type: str, prefix: str) -> str:
    """The one resource of `resource_type` whose logical id starts with `prefix` (the construct path)."""
    found = [
        key
        for key, resource in synth.resources.items()
        if resource["Type"] == resource_type and key.startswith(prefix)
    ]
    assert len(found) == 1, f"expected one {resource_type} named {prefix}*, found {found}"
    return found[0]


def queue_id(synth: Synth, name: str) -> str:
    found = [
        key
        for key, resource in synth.resources.items()
        if resource["Type"] == "AWS::SQS::Queue" and resource["Properties"].get("QueueName") == name
    ]
    assert len(found) == 1, f"expected one queue named {name}, found {found}"
    return found[0]


def secret_id(synth: Synth, name: str) -> str:
    found = [
        key
        for key, resource in synth.resources.items()
        if resource["Type"] == "AWS::SecretsManager::Secret" and resource["Properties"].get("Name") == name
    ]
    assert len(found) == 1, f"expected one secret named {name}, found {found}"
    return found[0]


def arn(resource_id: str) -> dict[str, Any]:
    return {"Fn::GetAtt": [resource_id, "Arn"]}


def ref(resource_id: str) -> dict[str, Any]:
    return {"Ref": resource_id}


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _key(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


def statements_of_role(synth: Synth, role_id: str) -> list[dict[str, Any]]:
    statements = []
    for resource in synth.resources.values():
        if resource["Type"] != "AWS::IAM::Policy":
            continue
        if ref(role_id) in resource["Properties"].get("Roles", []):
            statements.extend(resource["Properties"]["PolicyDocument"]["Statement"])
    return statements


def grants_of_role(synth: Synth, role_id: str) -> set[tuple[str, str]]:
    """(action, resource) pairs the role's inline policies allow, resources as JSON text."""
    pairs = set()
    for statement in statements_of_role(synth, role_id):
        assert statement["Effect"] == "Allow"
        for action in _listed(statement["Action"]):
            for resource in _listed(statement["Resource"]):
                pairs.add((action, _key(resource)))
    return pairs


def function_role_id(synth: Synth, function_id: str) -> str:
    role = synth.resources[function_id]["Properties"]["Role"]
    return role["Fn::GetAtt"][0]


def api_function_id(synth: Synth) -> str:
    return logical_id(synth, "AWS::Lambda::Function", "ApiFunction")


def dispatcher_function_id(synth: Synth) -> str:
    return logical_id(synth, "AWS::Lambda::Function", "DeliveryFunction")


def env_names() -> list[str]:
    return [value for key, value in vars(Env).items() if key.isupper()]


# --- Lambda functions -----------------------------------------------------------------------------


def test_lambdas_are_python312_arm64_with_layer(synth: Synth):
    layer_id = logical_id(synth, "AWS::Lambda::LayerVersion", "RuntimeLayer")
    for function_id in (api_function_id(synth), dispatcher_function_id(synth)):
        props = synth.resources[function_id]["Properties"]
        assert props["Runtime"] == "python3.12"
        assert props["Architectures"] == ["arm64"]
        assert props["Handler"] == "handler.handler"
        assert props["Layers"] == [ref(layer_id)]
        assert props["TracingConfig"] == {"Mode": "Active"}
        env = props["Environment"]["Variables"]
        assert env["POWERTOOLS_SERVICE_NAME"] == "ferry"
        assert env["POWERTOOLS_METRICS_NAMESPACE"] == "Ferry"
        assert env["POWERTOOLS_LOG_LEVEL"] == "INFO"


def test_layer_is_built_for_python312_arm64(template: Template):
    template.has_resource_properties(
        "AWS::Lambda::LayerVersion",
        {"CompatibleRuntimes": ["python3.12"], "CompatibleArchitectures": ["arm64"]},
    )


def test_each_lambda_logs_to_its_own_log_group_kept_one_month(synth: Synth):
    log_groups = set()
    for function_id in (api_function_id(synth), dispatcher_function_id(synth)):
        group = synth.resources[function_id]["Properties"]["LoggingConfig"]["LogGroup"]
        log_groups.add(group["Ref"])
        assert synth.resources[group["Ref"]]["Properties"]["RetentionInDays"] == 30
    assert len(log_groups) == 2


def test_memory_and_timeouts_come_from_config(synth: Synth):
    api = synth.resources[api_function_id(synth)]["Properties"]
    assert (api["MemorySize"], api["Timeout"]) == (CONFIG.publish_memory_mb, CONFIG.publish_timeout_seconds)
    dispatcher = synth.resources[dispatcher_function_id(synth)]["Properties"]
    assert (dispatcher["MemorySize"], dispatcher["Timeout"]) == (
        CONFIG.dispatcher.memory_mb,
        CONFIG.dispatcher.timeout_seconds,
    )


def test_both_lambdas_get_every_ferry_environment_variable(synth: Synth):
    storage = {
        "queue": queue_id(synth, NAMES.queue),
        "queue_dlq": queue_id(synth, NAMES.queue_dlq),
        "fifo": queue_id(synth, NAMES.fifo_queue),
        "fifo_dlq": queue_id(synth, NAMES.fifo_queue_dlq),
        "scheduler_dlq": queue_id(synth, NAMES.scheduler_dlq),
        "table": logical_id(synth, "AWS::DynamoDB::Table", "StorageTable"),
        "role": logical_id(synth, "AWS::IAM::Role", "SchedulesRole"),
    }
    expected = {
        Env.QUEUE_URL: ref(storage["queue"]),
        Env.QUEUE_DLQ_URL: ref(storage["queue_dlq"]),
        Env.FIFO_QUEUE_URL: ref(storage["fifo"]),
        Env.FIFO_QUEUE_DLQ_URL: ref(storage["fifo_dlq"]),
        Env.QUEUE_ARN: arn(storage["queue"]),
        Env.TABLE_NAME: ref(storage["table"]),
        Env.API_TOKEN_SECRET: ref(secret_id(synth, NAMES.api_token_secret)),
        Env.SIGNING_KEY_CURRENT_SECRET: ref(secret_id(synth, NAMES.signing_key_current_secret)),
        Env.SIGNING_KEY_NEXT_SECRET: ref(secret_id(synth, NAMES.signing_key_next_secret)),
        Env.ALLOW_PRIVATE_DESTINATIONS: "false",
        Env.LOG_BODIES: "false",
        Env.TRACE_AWS_CALLS: "false",
        Env.SECRETS_MAX_AGE: "60",
        Env.HISTORY_RETENTION_DAYS: str(CONFIG.history_retention_days),
        Env.SCHEDULER_ROLE_ARN: arn(storage["role"]),
        Env.SCHEDULE_GROUP: NAMES.schedule_group,
        Env.DELAY_SCHEDULE_GROUP: NAMES.delay_schedule_group,
        Env.SCHEDULER_DLQ_ARN: arn(storage["scheduler_dlq"]),
        Env.DISPATCHER_CONCURRENCY: str(CONFIG.dispatcher.concurrency),
        Env.HISTORY_LEVEL: CONFIG.history_level,
        Env.BACKPRESSURE_SECONDS: str(CONFIG.default_backpressure_seconds),
        Env.RUN_DRIVER_ARN: ref(logical_id(synth, "AWS::StepFunctions::StateMachine", "WorkflowsRunDriver")),
    }
    # A new name in ferry.config.Env must be wired here (and in the stack) before this passes.
    assert sorted(expected) == sorted(env_names())
    for function_id in (api_function_id(synth), dispatcher_function_id(synth)):
        env = synth.resources[function_id]["Properties"]["Environment"]["Variables"]
        assert {name: env.get(name) for name in expected} == expected


def test_dispatcher_may_send_to_the_queues_it_reads_without_loop_detection_stopping_it(synth: Synth):
    props = synth.resources[dispatcher_function_id(synth)]["Properties"]
    assert props["RecursiveLoop"] == "Allow"


def test_function_code_comes_from_functions_directory():
    for name in ("api", "dispatcher"):
        handler = ROOT / "functions" / name / "handler.py"
        assert handler.exists()
        assert "handler" in handler.read_text()


# --- queues ---------------------------------------------------------------------------------------


def test_dispatcher_reads_both_queues_with_partial_batch_failures(synth: Synth):
    dispatcher = dispatcher_function_id(synth)
    mappings = {
        resource["Properties"]["EventSourceArn"]["Fn::GetAtt"][0]: resource["Properties"]
        for resource in synth.resources.values()
        if resource["Type"] == "AWS::Lambda::EventSourceMapping"
    }
    queue, fifo = queue_id(synth, NAMES.queue), queue_id(synth, NAMES.fifo_queue)
    assert set(mappings) == {queue, fifo}
    for props in mappings.values():
        assert props["FunctionName"] == ref(dispatcher)
        assert props["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
        assert props["ScalingConfig"] == {"MaximumConcurrency": CONFIG.dispatcher.max_concurrency}
    assert mappings[queue]["BatchSize"] == CONFIG.dispatcher.batch_size
    # One record per FIFO batch: a failed head never makes followers count an undelivered attempt.
    assert mappings[fifo]["BatchSize"] == CONFIG.dispatcher.fifo_batch_size == 1
    assert mappings[queue]["MaximumBatchingWindowInSeconds"] == CONFIG.dispatcher.max_batching_window_seconds
    # SQS does not support a batching window on FIFO event sources.
    assert "MaximumBatchingWindowInSeconds" not in mappings[fifo]


def test_queues_have_dlq_with_redrive_and_sse(synth: Synth):
    for name, dlq_name in ((NAMES.queue, NAMES.queue_dlq), (NAMES.fifo_queue, NAMES.fifo_queue_dlq)):
        queue = synth.resources[queue_id(synth, name)]["Properties"]
        dlq_id = queue_id(synth, dlq_name)
        assert queue["RedrivePolicy"] == {
            "deadLetterTargetArn": arn(dlq_id),
            "maxReceiveCount": CONFIG.max_receive_count,
        }
        assert queue["VisibilityTimeout"] == CONFIG.dispatcher.queue_visibility_timeout_seconds
        for props in (queue, synth.resources[dlq_id]["Properties"]):
            assert props["SqsManagedSseEnabled"] is True
            assert props["MessageRetentionPeriod"] == CONFIG.queue_retention_days * 86_400


def test_dlqs_allow_console_redrive_to_their_source_queue(synth: Synth):
    for dlq_name in (NAMES.queue_dlq, NAMES.fifo_queue_dlq):
        props = synth.resources[queue_id(synth, dlq_name)]["Properties"]
        assert props["RedriveAllowPolicy"] == {"redrivePermission": "allowAll"}


def test_fifo_queues_deduplicate_by_id_with_throughput_per_message_group(synth: Synth):
    for name in (NAMES.fifo_queue, NAMES.fifo_queue_dlq):
        props = synth.resources[queue_id(synth, name)]["Properties"]
        assert props["FifoQueue"] is True
        assert props["ContentBasedDeduplication"] is False
        assert props["DeduplicationScope"] == "messageGroup"
        assert props["FifoThroughputLimit"] == "perMessageGroupId"


def test_every_queue_refuses_requests_without_tls(synth: Synth):
    queues = {key for key, r in synth.resources.items() if r["Type"] == "AWS::SQS::Queue"}
    assert len(queues) == 5  # two queues, their two DLQs, the scheduler DLQ
    protected = set()
    for resource in synth.resources.values():
        if resource["Type"] != "AWS::SQS::QueuePolicy":
            continue
        for statement in resource["Properties"]["PolicyDocument"]["Statement"]:
            if statement["Effect"] == "Deny" and statement.get("Condition") == {
                "Bool": {"aws:SecureTransport": "false"}
            }:
                protected.update(q["Ref"] for q in resource["Properties"]["Queues"])
    assert protected == queues


# --- table and secrets ----------------------------------------------------------------------------


def test_table_is_on_demand_with_ttl_gsi_and_pitr(template: Template):
    template.has_resource(
        "AWS::DynamoDB::Table",
        {
            "DeletionPolicy": "Retain",
            "UpdateReplacePolicy": "Retain",
            "Properties": {
                "TableName": NAMES.table,
                "BillingMode": "PAY_PER_REQUEST",
                "KeySchema": [
                    {"AttributeName": "pk", "KeyType": "HASH"},
                    {"AttributeName": "sk", "KeyType": "RANGE"},
                ],
                "AttributeDefinitions": Match.array_with(
                    [
                        {"AttributeName": name, "AttributeType": "S"}
                        for name in ("pk", "sk", "gsi1pk", "gsi1sk")
                    ]
                ),
                "GlobalSecondaryIndexes": [
                    {
                        "IndexName": "gsi1",
                        "KeySchema": [
                            {"AttributeName": "gsi1pk", "KeyType": "HASH"},
                            {"AttributeName": "gsi1sk", "KeyType": "RANGE"},
                        ],
                        "Projection": {"ProjectionType": "ALL"},
                    }
                ],
                "TimeToLiveSpecification": {"AttributeName": "ttl", "Enabled": True},
                "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
                "SSESpecification": {"SSEEnabled": True},
            },
        },
    )


def test_secrets_are_generated_for_token_and_both_signing_keys(synth: Synth):
    lengths = {
        NAMES.api_token_secret: CONFIG.api_token_length,
        NAMES.signing_key_current_secret: CONFIG.signing_key_length,
        NAMES.signing_key_next_secret: CONFIG.signing_key_length,
    }
    for name, length in lengths.items():
        props = synth.resources[secret_id(synth, name)]["Properties"]
        # No SecretStringTemplate/GenerateStringKey: the generated string is the whole value.
        assert props["GenerateSecretString"] == {
            "ExcludePunctuation": True,
            "IncludeSpace": False,
            "PasswordLength": length,
        }
        assert "SecretString" not in props


# --- HTTP API -------------------------------------------------------------------------------------


def test_http_api_sends_all_of_v2_to_the_api_function_with_payload_2(synth: Synth, template: Template):
    # /v2 plus the web dashboard's page and files, all to the one API function.
    template.resource_count_is("AWS::ApiGatewayV2::Route", 3)
    for route_key in ("ANY /v2/{proxy+}", "GET /dashboard", "ANY /dashboard/{proxy+}"):
        template.has_resource_properties(
            "AWS::ApiGatewayV2::Route", {"RouteKey": route_key, "AuthorizationType": "NONE"}
        )
    template.has_resource_properties(
        "AWS::ApiGatewayV2::Integration",
        {
            "IntegrationType": "AWS_PROXY",
            "PayloadFormatVersion": "2.0",
            "IntegrationUri": arn(api_function_id(synth)),
        },
    )


def test_default_stage_auto_deploys_throttled_with_access_logs(synth: Synth, template: Template):
    access_logs = logical_id(synth, "AWS::Logs::LogGroup", "ApiAccessLogs")
    template.has_resource_properties(
        "AWS::ApiGatewayV2::Stage",
        {
            "StageName": "$default",
            "AutoDeploy": True,
            "DefaultRouteSettings": {
                "ThrottlingRateLimit": CONFIG.api_throttle_rate_limit,
                "ThrottlingBurstLimit": CONFIG.api_throttle_burst_limit,
            },
            "AccessLogSettings": {
                "DestinationArn": arn(access_logs),
                "Format": Match.string_like_regexp(r"\$context\.requestId"),
            },
        },
    )


# --- schedules ------------------------------------------------------------------------------------


def test_schedule_group_role_and_target_dlq(synth: Synth, template: Template):
    groups = {
        r["Properties"]["Name"]: key
        for key, r in synth.resources.items()
        if r["Type"] == "AWS::Scheduler::ScheduleGroup"
    }
    assert set(groups) == {NAMES.schedule_group, NAMES.delay_schedule_group}
    dlq = synth.resources[queue_id(synth, NAMES.scheduler_dlq)]["Properties"]
    assert dlq["SqsManagedSseEnabled"] is True
    assert "FifoQueue" not in dlq  # Scheduler's DLQ must be a standard queue

    role_id = logical_id(synth, "AWS::IAM::Role", "SchedulesRole")
    assert synth.resources[role_id]["Properties"]["AssumeRolePolicyDocument"]["Statement"] == [
        {
            "Action": "sts:AssumeRole",
            "Effect": "Allow",
            "Principal": {"Service": "scheduler.amazonaws.com"},
            "Condition": {
                "StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}},
                "ArnEquals": {
                    "aws:SourceArn": [
                        arn(groups[NAMES.schedule_group]),
                        arn(groups[NAMES.delay_schedule_group]),
                    ]
                },
            },
        }
    ]


def test_scheduler_role_may_only_send_to_the_queue(synth: Synth):
    role_id = logical_id(synth, "AWS::IAM::Role", "SchedulesRole")
    assert not synth.resources[role_id]["Properties"].get("ManagedPolicyArns")
    grants = grants_of_role(synth, role_id)
    # SendMessage to the standard queue (the target) and to its own DLQ (Scheduler delivers
    # dead-letter events with the execution role); the Get* are read-only queue metadata.
    assert {action for action, _ in grants} <= {
        "sqs:SendMessage",
        "sqs:GetQueueAttributes",
        "sqs:GetQueueUrl",
    }
    assert {resource for action, resource in grants if action == "sqs:SendMessage"} == {
        _key(arn(queue_id(synth, NAMES.queue))),
        _key(arn(queue_id(synth, NAMES.scheduler_dlq))),
    }


def test_api_may_manage_only_ferry_schedules_and_pass_only_the_scheduler_role(synth: Synth):
    role_id = function_role_id(synth, api_function_id(synth))
    statements = statements_of_role(synth, role_id)

    def resources_for(action: str) -> list[str]:
        return [
            _key(resource)
            for statement in statements
            if action in _listed(statement["Action"])
            for resource in _listed(statement["Resource"])
        ]

    def schedules_in(group: str) -> str:
        return _key(
            {
                "Fn::Join": [
                    "",
                    [
                        "arn:",
                        {"Ref": "AWS::Partition"},
                        ":scheduler:",
                        {"Ref": "AWS::Region"},
                        ":",
                        {"Ref": "AWS::AccountId"},
                        f":schedule/{group}/*",
                    ],
                ]
            }
        )

    for action in ("UpdateSchedule", "DeleteSchedule", "GetSchedule"):
        assert resources_for(f"scheduler:{action}") == [schedules_in(NAMES.schedule_group)]
    assert sorted(resources_for("scheduler:CreateSchedule")) == sorted(
        [schedules_in(NAMES.schedule_group), schedules_in(NAMES.delay_schedule_group)]
    )
    # ListSchedules supports no resource-level permission.
    assert resources_for("scheduler:ListSchedules") == [_key("*")]

    scheduler_role = logical_id(synth, "AWS::IAM::Role", "SchedulesRole")
    pass_role = [s for s in statements if "iam:PassRole" in _listed(s["Action"])]
    assert pass_role == [
        {
            "Action": "iam:PassRole",
            "Effect": "Allow",
            "Resource": arn(scheduler_role),
            "Condition": {"StringEquals": {"iam:PassedToService": "scheduler.amazonaws.com"}},
        }
    ]


# --- what each function may do --------------------------------------------------------------------


def test_api_function_permissions(synth: Synth):
    grants = grants_of_role(synth, function_role_id(synth, api_function_id(synth)))
    table = logical_id(synth, "AWS::DynamoDB::Table", "StorageTable")
    for name in (NAMES.queue, NAMES.fifo_queue):
        assert ("sqs:SendMessage", _key(arn(queue_id(synth, name)))) in grants
    for action in ("dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:DeleteItem", "dynamodb:Query"):
        assert (action, _key(arn(table))) in grants
    for name in (NAMES.api_token_secret, NAMES.signing_key_current_secret, NAMES.signing_key_next_secret):
        assert ("secretsmanager:GetSecretValue", _key(ref(secret_id(synth, name)))) in grants
    # Key rotation writes the two signing keys, never the API token.
    assert {resource for action, resource in grants if action == "secretsmanager:PutSecretValue"} == {
        _key(ref(secret_id(synth, NAMES.signing_key_current_secret))),
        _key(ref(secret_id(synth, NAMES.signing_key_next_secret))),
    }
    # Resume wakes paused queue heads: visibility on the FIFO queue only.
    assert {resource for action, resource in grants if action == "sqs:ChangeMessageVisibility"} == {
        _key(arn(queue_id(synth, NAMES.fifo_queue)))
    }
    # The API never consumes messages (the dispatcher does).
    assert not {action for action, _ in grants if action in {"sqs:ReceiveMessage", "sqs:DeleteMessage"}}


def test_dispatcher_permissions(synth: Synth):
    grants = grants_of_role(synth, function_role_id(synth, dispatcher_function_id(synth)))
    for name in (NAMES.queue, NAMES.fifo_queue):
        queue = _key(arn(queue_id(synth, name)))
        for action in ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility"):
            assert (action, queue) in grants
    assert {resource for action, resource in grants if action == "sqs:SendMessage"} == {
        _key(arn(queue_id(synth, name)))
        for name in (NAMES.queue, NAMES.fifo_queue, NAMES.queue_dlq, NAMES.fifo_queue_dlq)
    }
    assert {resource for action, resource in grants if action == "secretsmanager:GetSecretValue"} == {
        _key(ref(secret_id(synth, NAMES.signing_key_current_secret))),
        _key(ref(secret_id(synth, NAMES.signing_key_next_secret))),
    }
    forbidden = {action for action, _ in grants if action.startswith(("scheduler:", "iam:"))}
    forbidden |= {action for action, _ in grants if action == "secretsmanager:PutSecretValue"}
    assert not forbidden


# --- outputs, cdk-nag, cfn-lint -------------------------------------------------------------------


def test_outputs(synth: Synth):
    outputs = synth.template_json["Outputs"]
    expected = {
        "ApiUrl",
        "ApiTokenSecretArn",
        "SigningKeyCurrentSecretArn",
        "SigningKeyNextSecretArn",
        "QueueUrl",
        "FifoQueueUrl",
        "QueueDlqUrl",
        "FifoQueueDlqUrl",
        "SchedulerDlqUrl",
        "TableName",
    }
    assert expected <= set(outputs)
    assert outputs["ApiTokenSecretArn"]["Value"] == ref(secret_id(synth, NAMES.api_token_secret))
    assert outputs["SigningKeyCurrentSecretArn"]["Value"] == ref(
        secret_id(synth, NAMES.signing_key_current_secret)
    )
    assert outputs["SigningKeyNextSecretArn"]["Value"] == ref(secret_id(synth, NAMES.signing_key_next_secret))
    assert outputs["QueueUrl"]["Value"] == ref(queue_id(synth, NAMES.queue))
    assert outputs["FifoQueueUrl"]["Value"] == ref(queue_id(synth, NAMES.fifo_queue))
    assert outputs["QueueDlqUrl"]["Value"] == ref(queue_id(synth, NAMES.queue_dlq))
    assert outputs["FifoQueueDlqUrl"]["Value"] == ref(queue_id(synth, NAMES.fifo_queue_dlq))
    assert outputs["TableName"]["Value"] == ref(logical_id(synth, "AWS::DynamoDB::Table", "StorageTable"))
    # https://<api id>.execute-api.<region>.amazonaws.com, no trailing slash: it is QSTASH_URL.
    api_id = logical_id(synth, "AWS::ApiGatewayV2::Api", "ApiHttpApi")
    assert outputs["ApiUrl"]["Value"] == {"Fn::GetAtt": [api_id, "ApiEndpoint"]}


def test_cdk_nag_reports_no_unsuppressed_findings(synth: Synth):
    report = synth.validation_report()
    findings = [
        f"{violation['ruleName']} at {construct['constructPath']}: {violation['description'][:120]}"
        for plugin in report["pluginReports"]
        for violation in plugin["violations"]
        for construct in violation["violatingConstructs"]
    ]
    assert findings == [], "unacknowledged cdk-nag findings:\n" + "\n".join(findings)
    assert synth.error is None, synth.error
    # Nothing else the CDK or cdk-nag warned about either.
    messages = [
        f"{entry['type']} at {path}: {entry.get('data')}"
        for path, entries in synth.metadata().items()
        for entry in entries
        if entry["type"] in {"aws:cdk:error", "aws:cdk:warning"}
    ]
    assert messages == []


def test_cfn_lint_passes_on_synthesized_template(synth: Synth, tmp_path: Path):
    template_file = tmp_path / "Ferry.template.json"
    template_file.write_text(json.dumps(synth.template_json))
    # cfn-lint's console script, run with this interpreter (cfnlint has no __main__ module).
    cfn_lint = [sys.executable, "-c", "import sys; from cfnlint.runner import main; sys.exit(main())"]
    result = subprocess.run(
        [
            *cfn_lint,
            # W3005 (a DependsOn that a GetAtt already implies) is how the CDK writes every Lambda
            # function: it depends on its role and the role's default policy explicitly. Redundant,
            # harmless, and not ours to change.
            "--ignore-checks",
            "W3005",
            "--",
            str(template_file),
        ],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_alarms_on_every_dlq_dispatcher_crashes_and_api_errors_notify_one_topic(synth: Synth):
    topic = logical_id(synth, "AWS::SNS::Topic", "MonitoringAlarmTopic")
    alarms = {
        key: resource["Properties"]
        for key, resource in synth.resources.items()
        if resource["Type"] == "AWS::CloudWatch::Alarm"
    }

    def watched(metric: str) -> set[str]:
        return {
            dimension["Value"]["Fn::GetAtt"][0]
            for alarm in alarms.values()
            if alarm["MetricName"] == metric
            for dimension in alarm["Dimensions"]
        }

    # New dead letters (the dispatcher's sends), not the depth: dead letters stay in the SQS DLQ
    # after an API retry, and a depth alarm stuck in ALARM would never notify again.
    assert watched("NumberOfMessagesSent") == {
        queue_id(synth, NAMES.queue_dlq),
        queue_id(synth, NAMES.fifo_queue_dlq),
    }
    assert watched("ApproximateNumberOfMessagesVisible") == {queue_id(synth, NAMES.scheduler_dlq)}
    metrics = {(alarm["Namespace"], alarm["MetricName"]) for alarm in alarms.values()}
    assert {("AWS/Lambda", "Errors"), ("AWS/ApiGateway", "5xx")} <= metrics
    dispatcher = logical_id(synth, "AWS::Lambda::Function", "DeliveryFunction")
    [errors] = [a for a in alarms.values() if a["MetricName"] == "Errors"]
    assert errors["Dimensions"] == [{"Name": "FunctionName", "Value": ref(dispatcher)}]
    for alarm in alarms.values():
        assert alarm["AlarmActions"] == [ref(topic)]
        assert alarm["Threshold"] == 1 and alarm["TreatMissingData"] == "notBreaching"
    assert synth.template_json["Outputs"]["AlarmTopicArn"]["Value"] == ref(topic)


def test_alarm_topic_refuses_publishing_without_tls(synth: Synth):
    topic = logical_id(synth, "AWS::SNS::Topic", "MonitoringAlarmTopic")
    [policy] = [
        r["Properties"]["PolicyDocument"]
        for r in synth.resources.values()
        if r["Type"] == "AWS::SNS::TopicPolicy" and r["Properties"]["Topics"] == [ref(topic)]
    ]
    assert any(
        s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
        for s in policy["Statement"]
    )


def test_alarm_email_from_context_subscribes_to_the_topic():
    from app import build_app

    _, stack = build_app(context={"aws:cdk:bundling-stacks": [], "alarmEmail": "ops@example.com"})
    Template.from_stack(stack).has_resource_properties(
        "AWS::SNS::Subscription", {"Protocol": "email", "Endpoint": "ops@example.com"}
    )
