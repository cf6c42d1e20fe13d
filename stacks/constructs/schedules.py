"""EventBridge Scheduler: the schedule groups, the role Scheduler assumes, and its target DLQ.

The API function creates the schedules at run time (ferry/adapters/schedules.py for QStash
schedules, ferry/adapters/scheduler.py for long message delays); every schedule's target is the
standard message queue, sent to with `role`, which may do nothing else.
"""

from __future__ import annotations

from aws_cdk import Acknowledgment, Aws, RemovalPolicy, Stack, Validations
from aws_cdk import aws_iam as iam
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from ferry.config import FerryConfig
from ferry.resources import declare
from stacks.constructs.storage import declared_queue

SCHEDULER_PRINCIPAL = "scheduler.amazonaws.com"
# Actions the API needs on schedules in Ferry's groups; ListSchedules has no resource type.
MANAGE_ACTIONS = [
    "scheduler:CreateSchedule",
    "scheduler:UpdateSchedule",
    "scheduler:DeleteSchedule",
    "scheduler:GetSchedule",
]


class Schedules(Construct):
    def __init__(
        self, scope: Construct, construct_id: str, *, config: FerryConfig, queue: sqs.IQueue
    ) -> None:
        super().__init__(scope, construct_id)
        names = config.names
        self._names = names

        resources = declare(config)
        # Deleting a group deletes its schedules, which would otherwise keep firing at a queue
        # that no longer exists once the stack is gone.
        self.groups_by_key = {
            spec.key: scheduler.ScheduleGroup(
                self, spec.construct_id, schedule_group_name=spec.name, removal_policy=RemovalPolicy.DESTROY
            )
            for spec in resources.schedule_groups
        }
        self.group = self.groups_by_key["schedules"]
        self.delay_group = self.groups_by_key["delays"]

        # What Scheduler could not send to the queue after its retries (declared in ferry/resources.py).
        self.dlq = declared_queue(self, resources.queue("scheduler_dlq"))
        Validations.of(self.dlq).acknowledge(
            Acknowledgment(
                id="AwsSolutions-SQS3",
                reason=(
                    "This queue is a dead-letter queue: EventBridge Scheduler's target DLQ "
                    "(DeadLetterConfig on each schedule, set at run time), which cdk-nag cannot see."
                ),
            )
        )

        group_arns = [group.schedule_group_arn for group in self.groups_by_key.values()]
        self.role = iam.Role(
            self,
            "Role",
            description="Assumed by EventBridge Scheduler to send Ferry's schedule firings to the queue",
            assumed_by=iam.ServicePrincipal(
                SCHEDULER_PRINCIPAL,
                conditions={
                    # Only schedules in this account's Ferry groups (confused-deputy protection).
                    "StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID},
                    "ArnEquals": {"aws:SourceArn": group_arns},
                },
            ),
        )
        # The target: SendMessage on the standard queue. The DLQ: Scheduler delivers dead-letter
        # events with this same execution role, so it needs SendMessage there too.
        queue.grant_send_messages(self.role)
        self.dlq.grant_send_messages(self.role)

    def schedule_arns(self, group: scheduler.ScheduleGroup) -> str:
        """ARN pattern of every schedule in `group`."""
        return Stack.of(self).format_arn(
            service="scheduler", resource="schedule", resource_name=f"{group.schedule_group_name}/*"
        )

    def grant_manage_schedules(self, grantee: iam.IGrantable) -> None:
        """What the API needs: manage schedules in the schedules group, create one-time schedules
        in the delays group, list schedules, and pass the Scheduler role (only to Scheduler)."""
        iam.Grant.add_to_principal(
            grantee=grantee, actions=MANAGE_ACTIONS, resource_arns=[self.schedule_arns(self.group)]
        )
        iam.Grant.add_to_principal(
            grantee=grantee,
            actions=["scheduler:CreateSchedule"],
            resource_arns=[self.schedule_arns(self.delay_group)],
        )
        iam.Grant.add_to_principal(grantee=grantee, actions=["scheduler:ListSchedules"], resource_arns=["*"])
        grantee.grant_principal.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["iam:PassRole"],
                resources=[self.role.role_arn],
                conditions={"StringEquals": {"iam:PassedToService": SCHEDULER_PRINCIPAL}},
            )
        )
        if isinstance(grantee, Construct):
            Validations.of(grantee).acknowledge(
                Acknowledgment(
                    id="AwsSolutions-IAM5[Resource::*]",
                    reason=(
                        "scheduler:ListSchedules has no resource-level permissions; the API lists "
                        "Ferry's group only (GroupName on every call)."
                    ),
                )
            )
            for group_name in (self._names.schedule_group, self._names.delay_schedule_group):
                arn = f"arn:<AWS::Partition>:scheduler:<AWS::Region>:<AWS::AccountId>:schedule/{group_name}/*"
                Validations.of(grantee).acknowledge(
                    Acknowledgment(
                        id=f"AwsSolutions-IAM5[Resource::{arn}]",
                        reason=(
                            f"Schedules in Ferry's own group {group_name}: their names are chosen at "
                            "run time (schedule ids, message ids), the group is the narrowest scope."
                        ),
                    )
                )
