"""The run driver: one generic Standard state machine that executes every workflow run.

Declared once here; the CDK construct and `ferry dev` both create it from this definition (with
the messages queue URL substituted), so AWS and moto run the same graph.

    Next (Choice on $.next.action)
      deliver + delaySeconds -> Sleep (Wait SecondsPath)   -> Deliver
      deliver + notBefore    -> SleepUntil (Wait TimestampPath) -> Deliver
      deliver                -> Deliver
      parallel               -> DeliverBranches (Map over $.next.messageIds) -> Join -> Next
      wait                   -> WaitForEvent (waitForEvent, invoke)
      finish                 -> Finished (Succeed)
      canceled               -> Canceled (Fail; answers a cancelled run's waiting task)
      otherwise              -> Stalled (Fail)
    Deliver: Task sqs:sendMessage.waitForTaskToken. The message is a skeleton envelope naming the
      run and the message to deliver; the existing dispatcher resolves it from the run log,
      delivers it signed with the step's retries, and answers SendTaskSuccess(next action) or
      SendTaskFailure(Ferry.StepFailed). No Catch: a failed step fails the execution *at the
      Deliver state*, which is where RedriveExecution restarts it.
    WaitForEvent: Task sqs:sendMessage.waitForTaskToken with TimeoutSecondsPath. The dispatcher
      keeps the token with the run's WAIT; a notify (or the invoked run's end) resolves the WAIT
      and answers SendTaskSuccess(deliver the resolution). States.Timeout -> Deliver the WAIT,
      which the dispatcher resolves as timed out first (the first resolution wins).
    DeliverBranches: inline Map over the plan steps of a `Promise.all` of `run` steps; each
      iteration is the Deliver task for one plan step (`branch`: the dispatcher answers
      `{branch: done}` once the branch's result is stored). All iterations are in flight at once.
      A failed branch fails the Map (no Catch), i.e. the execution at the Map state.
    Join: the Deliver task for the group (`join`): the dispatcher delivers the array ending in the
      group's last stored result, so the SDK sees every branch's result and goes on; it answers
      the next action as Deliver does.

The state holds ids and times only; step results live in the run log (DynamoDB).
"""

from __future__ import annotations

import json
from typing import Any

QUEUE_URL_SUBSTITUTION = "MessagesQueueUrl"
STEP_FAILED_ERROR = "Ferry.StepFailed"
CANCELED_ERROR = "Ferry.Canceled"
# Infrastructure errors of the SQS send itself are retried by Step Functions; HTTP retries of the
# step are the dispatcher's (QStash semantics), never a second layer here.
_SEND_RETRY = [
    {
        "ErrorEquals": ["SQS.SdkClientException", "SQS.AmazonSQSException"],
        "IntervalSeconds": 2,
        "MaxAttempts": 3,
        "BackoffRate": 2.0,
    }
]


def run_driver_definition(queue_url: str = "${" + QUEUE_URL_SUBSTITUTION + "}") -> dict[str, Any]:
    deliver_parameters = {
        "QueueUrl": queue_url,
        "MessageBody": {
            # An envelope skeleton (no destination): the dispatcher resolves it from the run log.
            "v": 1,
            "id.$": "$.next.messageId",
            "destination": "",
            "created_at": 0,
            "not_before": 0,
            "max_retries": 0,
            "timeout": 1,
            "workflow": {
                "run_id.$": "$.runId",
                "step.$": "$.next.messageId",
                "task_token.$": "$$.Task.Token",
            },
        },
    }
    wait_parameters = json.loads(json.dumps(deliver_parameters))
    wait_parameters["MessageBody"]["workflow"]["waiting"] = True
    # Inside a Map iteration the input is the ItemSelector's {runId, messageId}.
    branch_parameters = json.loads(json.dumps(deliver_parameters))
    branch_parameters["MessageBody"]["id.$"] = "$.messageId"
    branch_parameters["MessageBody"]["workflow"].update({"step.$": "$.messageId", "branch": True})
    join_parameters = json.loads(json.dumps(deliver_parameters))
    join_parameters["MessageBody"]["id.$"] = "$.next.messageIds[0]"
    join_parameters["MessageBody"]["workflow"].update({"step.$": "$.next.messageIds[0]", "join": True})
    return {
        "Comment": "Ferry run driver: one execution per workflow run (docs/workflows.md)",
        "StartAt": "Next",
        "States": {
            "Next": {
                "Type": "Choice",
                "Choices": [
                    {
                        "And": [
                            {"Variable": "$.next.action", "StringEquals": "deliver"},
                            {"Variable": "$.next.delaySeconds", "IsPresent": True},
                        ],
                        "Next": "Sleep",
                    },
                    {
                        "And": [
                            {"Variable": "$.next.action", "StringEquals": "deliver"},
                            {"Variable": "$.next.notBefore", "IsPresent": True},
                        ],
                        "Next": "SleepUntil",
                    },
                    {"Variable": "$.next.action", "StringEquals": "deliver", "Next": "Deliver"},
                    {"Variable": "$.next.action", "StringEquals": "parallel", "Next": "DeliverBranches"},
                    {"Variable": "$.next.action", "StringEquals": "wait", "Next": "WaitForEvent"},
                    {"Variable": "$.next.action", "StringEquals": "finish", "Next": "Finished"},
                    {"Variable": "$.next.action", "StringEquals": "canceled", "Next": "Canceled"},
                ],
                "Default": "Stalled",
            },
            "Sleep": {"Type": "Wait", "SecondsPath": "$.next.delaySeconds", "Next": "Deliver"},
            "SleepUntil": {"Type": "Wait", "TimestampPath": "$.next.notBefore", "Next": "Deliver"},
            "Deliver": {
                "Type": "Task",
                "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
                "Parameters": deliver_parameters,
                "ResultPath": "$.next",
                "Retry": _SEND_RETRY,
                "Next": "Next",
            },
            "DeliverBranches": {
                "Type": "Map",
                "ItemsPath": "$.next.messageIds",
                "ItemSelector": {"runId.$": "$.runId", "messageId.$": "$$.Map.Item.Value"},
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "INLINE"},
                    "StartAt": "DeliverBranch",
                    "States": {
                        "DeliverBranch": {
                            "Type": "Task",
                            "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
                            "Parameters": branch_parameters,
                            "Retry": _SEND_RETRY,
                            "End": True,
                        }
                    },
                },
                # The branches' answers are markers; $.next keeps the plan steps' ids for Join.
                "ResultPath": None,
                "Next": "Join",
            },
            "Join": {
                "Type": "Task",
                "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
                "Parameters": join_parameters,
                "ResultPath": "$.next",
                "Retry": _SEND_RETRY,
                "Next": "Next",
            },
            "WaitForEvent": {
                "Type": "Task",
                "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
                "Parameters": wait_parameters,
                "TimeoutSecondsPath": "$.next.timeoutSeconds",
                "ResultPath": "$.next",
                "Retry": _SEND_RETRY,
                # $.next still names the WAIT: Deliver resolves it as timed out and delivers that.
                "Catch": [{"ErrorEquals": ["States.Timeout"], "ResultPath": "$.timedOut", "Next": "Deliver"}],
                "Next": "Next",
            },
            "Finished": {"Type": "Succeed"},
            "Canceled": {
                "Type": "Fail",
                "Error": CANCELED_ERROR,
                "Cause": "the run had ended (cancelled) when its task was answered",
            },
            "Stalled": {
                "Type": "Fail",
                "Error": "Ferry.Stalled",
                "Cause": "the endpoint answered 2xx without publishing a next step or finishing the run",
            },
        },
    }


def run_driver_definition_json(queue_url: str | None = None) -> str:
    definition = run_driver_definition() if queue_url is None else run_driver_definition(queue_url)
    return json.dumps(definition, separators=(",", ":"))


def execution_input(run_id: str, message_id: str) -> dict[str, Any]:
    return {"runId": run_id, "next": {"action": "deliver", "messageId": message_id}}


# A Standard execution holds 25,000 history events; a delivery costs about 5 (Choice entered and
# exited, TaskScheduled/Started/Succeeded), a sleep 2 more, a wait about as much again. A run hands
# over to a new execution every this many run-log messages, well inside the limit.
MESSAGES_PER_EXECUTION = 1_000


def continuation_name(run_id: str, after_seq: int, next_seq: int, per_execution: int) -> str | None:
    """The execution a run continues in when the driver moves from run-log position `after_seq`
    to `next_seq` across a multiple of `per_execution`, else None. Named by that multiple, so a
    report sent again (a dispatcher crash) names the same execution instead of starting two."""
    crossed = next_seq // per_execution
    if crossed <= after_seq // per_execution:
        return None
    return f"{run_id}-c{crossed}"


def execution_name(run_id: str, segment: int) -> str:
    """Segment 1 is the run id itself; a redrive or continuation runs as `<run id>-s<n>`."""
    return run_id if segment <= 1 else f"{run_id}-s{segment}"
