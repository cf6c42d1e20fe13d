"""Workflows: the run driver, one Standard state machine that executes every workflow run.

Its definition is `ferry.domain.workflow_driver.run_driver_definition()`, the same one `ferry dev`
creates in moto, with the messages queue URL substituted. The state machine's role may only send
to that queue (each step is a `sqs:sendMessage.waitForTaskToken` Task the dispatcher delivers);
the dispatcher may only answer its tasks; the API may only start, stop, describe and redrive its
executions. Execution data is never logged (step results live in the run log, not in the state).
"""

from __future__ import annotations

import json

from aws_cdk import Acknowledgment, ArnFormat, RemovalPolicy, Stack, Validations
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from ferry.config import FerryConfig
from ferry.resources import declare


class Workflows(Construct):
    def __init__(
        self, scope: Construct, construct_id: str, *, config: FerryConfig, queue: sqs.IQueue
    ) -> None:
        super().__init__(scope, construct_id)
        self._names = config.names
        self.log_group = logs.LogGroup(
            self,
            "RunDriverLogs",
            retention=logs.RetentionDays.ONE_MONTH,
            removal_policy=RemovalPolicy.DESTROY,
        )
        self.role = iam.Role(
            self,
            "RunDriverRole",
            assumed_by=iam.ServicePrincipal("states.amazonaws.com"),
            description="Ferry run driver: sends each workflow step to the messages queue",
        )
        queue.grant_send_messages(self.role)
        [machine] = declare(config).state_machines_built_by("Workflows")
        # The only substitution is the messages queue URL (ferry/resources.py declares which).
        self.state_machine = sfn.StateMachine(
            self,
            machine.construct_id,
            state_machine_name=machine.name,
            state_machine_type=sfn.StateMachineType(machine.type),
            definition_body=sfn.DefinitionBody.from_string(json.dumps(machine.definition)),
            definition_substitutions={
                placeholder: queue.queue_url for placeholder in machine.definition_substitutions
            },
            role=self.role,
            tracing_enabled=True,
            logs=sfn.LogOptions(
                destination=self.log_group, level=sfn.LogLevel.ALL, include_execution_data=False
            ),
        )
        # Logging to CloudWatch needs the log-delivery actions, which have no resource type.
        Validations.of(self.role).acknowledge(
            Acknowledgment(
                id="AwsSolutions-IAM5[Resource::*]",
                reason="Step Functions log delivery (logs:CreateLogDelivery etc.) and X-Ray "
                "(xray:PutTraceSegments) only accept Resource '*'",
            )
        )

    def grant(self, *, api: iam.IGrantable, dispatcher: iam.IGrantable) -> None:
        """The API starts, stops and redrives runs, and answers waiting tasks (a notify, an invoked
        run's end, a cancel while waiting); the dispatcher reports each step's outcome."""
        self.state_machine.grant_start_execution(api)
        name = self._names.run_driver
        executions = Stack.of(self).format_arn(
            service="states",
            resource="execution",
            resource_name=f"{name}:*",
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )
        iam.Grant.add_to_principal(
            grantee=api,
            actions=["states:StopExecution", "states:DescribeExecution", "states:RedriveExecution"],
            resource_arns=[executions],
        )
        if isinstance(api, Construct):
            pattern = f"arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:{name}:*"
            Validations.of(api).acknowledge(
                Acknowledgment(
                    id=f"AwsSolutions-IAM5[Resource::{pattern}]",
                    reason="Executions of the run driver only: one per workflow run, named at run time.",
                )
            )
        self.state_machine.grant_task_response(api)
        self.state_machine.grant_task_response(dispatcher)
        # A run past MESSAGES_PER_EXECUTION continues in a new execution, started by the
        # dispatcher's report (ferry.usecases.workflow_delivery).
        self.state_machine.grant_start_execution(dispatcher)
