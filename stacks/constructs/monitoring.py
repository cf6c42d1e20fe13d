"""Monitoring: CloudWatch alarms for what an operator must act on, sent to one SNS topic.

- messages newly dead-lettered (the dispatcher's SendMessage to a messages DLQ: NumberOfMessagesSent,
  which counts sends but not SQS's own redrive-policy moves). Not the DLQ depth: dead-lettered
  messages stay there up to 14 days (the API retries and deletes its own index, not the SQS
  copy), so a depth alarm would stay in ALARM and never notify again;
- any message in Scheduler's target DLQ (a schedule firing or long delay that could not be
  enqueued; nothing else writes there, and docs/dlq.md says how to empty it);
- dispatcher invocations that failed as a whole (a crash or timeout: partial batch failures, the
  normal way a retry is scheduled, do not count as errors). This also covers the messages SQS's
  redrive policy moves, which only happens after repeated crashes;
- API answers with 5xx (an AWS dependency is failing; clients were told to retry).

Subscribe to the topic (output AlarmTopicArn), or deploy with `-c alarmEmail=you@example.com`.
"""

from __future__ import annotations

from aws_cdk import Acknowledgment, Duration, Validations
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from constructs import Construct

PERIOD = Duration.minutes(5)


class Monitoring(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        dead_letter_queues: dict[str, sqs.IQueue],
        scheduler_dlq: sqs.IQueue,
        dispatcher: lambda_.IFunction,
        http_api: apigwv2.HttpApi,
        alarm_email: str | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.topic = sns.Topic(self, "AlarmTopic", display_name="Ferry alarms", enforce_ssl=True)
        Validations.of(self.topic).acknowledge(
            Acknowledgment(
                id="AwsSolutions-SNS2",
                reason=(
                    "Alarm notifications carry only alarm names and metric values, never message "
                    "content; CloudWatch cannot publish to a topic encrypted with the AWS-managed "
                    "SNS key, and a customer-managed key would add cost for no protected data."
                ),
            )
        )
        if alarm_email:
            self.topic.add_subscription(subscriptions.EmailSubscription(alarm_email))
        self._notify = actions.SnsAction(self.topic)

        self.alarms: list[cloudwatch.Alarm] = []
        for name, queue in dead_letter_queues.items():
            self._alarm(
                f"{name}NewMessages",
                queue.metric_number_of_messages_sent(statistic="Sum", period=PERIOD),
                description=(
                    f"Messages failed and were dead-lettered to {name} in the last 5 minutes: read "
                    "the reason (Ferry API /v2/dlq, `ferry dlq list`) and retry or delete them "
                    "(docs/dlq.md). Clears when no new ones arrive."
                ),
            )
        self._alarm(
            "SchedulerDlqNotEmpty",
            scheduler_dlq.metric_approximate_number_of_messages_visible(statistic="Maximum", period=PERIOD),
            description=(
                "EventBridge Scheduler could not enqueue a schedule firing or a long-delayed message; "
                "see docs/dlq.md (The Scheduler's DLQ)."
            ),
        )
        self._alarm(
            "DispatcherErrors",
            dispatcher.metric_errors(statistic="Sum", period=PERIOD),
            description=(
                "Dispatcher invocations crashed or timed out; their messages are retried, and "
                "dead-lettered with a reason if it keeps happening. See the function's logs."
            ),
        )
        self._alarm(
            "ApiServerErrors",
            http_api.metric_server_error(statistic="Sum", period=PERIOD),
            description="The API answered 5xx (an AWS dependency failed); see the API function's logs.",
        )

    def _alarm(self, alarm_id: str, metric: cloudwatch.IMetric, *, description: str) -> None:
        alarm = cloudwatch.Alarm(
            self,
            alarm_id,
            metric=metric,
            threshold=1,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            alarm_description=description,
        )
        alarm.add_alarm_action(self._notify)
        self.alarms.append(alarm)
