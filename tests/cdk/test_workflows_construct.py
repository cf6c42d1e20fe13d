"""The run driver in the template: the one definition `ferry dev` runs in moto, a role that may
only send to the messages queue, logging without execution data, least-privilege grants."""

from __future__ import annotations

import json
from typing import Any

from ferry.domain.workflow_driver import QUEUE_URL_SUBSTITUTION, run_driver_definition
from tests.cdk.conftest import Synth
from tests.cdk.test_ferry_stack import NAMES, logical_id, queue_id, ref


def _machine(synth: Synth) -> dict[str, Any]:
    return synth.resources[logical_id(synth, "AWS::StepFunctions::StateMachine", "WorkflowsRunDriver")][
        "Properties"
    ]


def _statements(synth: Synth, role_prefix: str) -> list[dict[str, Any]]:
    role = logical_id(synth, "AWS::IAM::Role", role_prefix)
    return [
        statement
        for resource in synth.resources.values()
        if resource["Type"] == "AWS::IAM::Policy" and {"Ref": role} in resource["Properties"]["Roles"]
        for statement in resource["Properties"]["PolicyDocument"]["Statement"]
    ]


def _actions(statement: dict[str, Any]) -> set[str]:
    actions = statement["Action"]
    return {actions} if isinstance(actions, str) else set(actions)


def test_the_deployed_definition_is_the_one_ferry_dev_runs(synth: Synth):
    machine = _machine(synth)
    assert machine["StateMachineName"] == NAMES.run_driver
    assert machine["StateMachineType"] == "STANDARD"
    assert json.loads(machine["DefinitionString"]) == run_driver_definition()
    assert machine["DefinitionSubstitutions"] == {QUEUE_URL_SUBSTITUTION: ref(queue_id(synth, NAMES.queue))}


def test_run_driver_logs_and_traces_without_execution_data(synth: Synth):
    machine = _machine(synth)
    assert machine["LoggingConfiguration"]["IncludeExecutionData"] is False
    assert machine["LoggingConfiguration"]["Level"] == "ALL"
    assert machine["TracingConfiguration"] == {"Enabled": True}


def test_run_driver_role_may_send_only_to_the_messages_queue(synth: Synth):
    statements = _statements(synth, "WorkflowsRunDriverRole")
    sends = [s for s in statements if any(a.startswith("sqs:") for a in _actions(s))]
    assert len(sends) == 1
    assert _actions(sends[0]) == {"sqs:SendMessage", "sqs:GetQueueAttributes", "sqs:GetQueueUrl"}
    assert sends[0]["Resource"] == {"Fn::GetAtt": [queue_id(synth, NAMES.queue), "Arn"]}
    assert not any(a.startswith(("states:", "dynamodb:", "lambda:")) for s in statements for a in _actions(s))


def test_dispatcher_may_only_answer_tasks_and_the_api_only_manage_runs_and_answer_waits(synth: Synth):
    machine = ref(logical_id(synth, "AWS::StepFunctions::StateMachine", "WorkflowsRunDriver"))
    dispatcher = [
        s for s in _statements(synth, "DeliveryFunction") if any("states:" in a for a in _actions(s))
    ]
    assert {a for s in dispatcher for a in _actions(s)} == {
        "states:StartExecution",  # a long run continues in a new execution
        "states:SendTaskSuccess",
        "states:SendTaskFailure",
        "states:SendTaskHeartbeat",
    }
    assert all(s["Resource"] == machine for s in dispatcher)
    api = [s for s in _statements(synth, "ApiFunction") if any("states:" in a for a in _actions(s))]
    assert {a for s in api for a in _actions(s)} == {
        "states:StartExecution",
        "states:StopExecution",
        "states:DescribeExecution",
        "states:RedriveExecution",
        # notify, an invoked run's end and a cancel answer the run driver's WaitForEvent task
        "states:SendTaskSuccess",
        "states:SendTaskFailure",
        "states:SendTaskHeartbeat",
    }
