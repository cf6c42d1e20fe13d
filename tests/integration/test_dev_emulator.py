"""What `ferry dev`'s embedded emulator offers beyond the messages path: Step Functions state
machines really execute (the workflows issue builds on this)."""

from __future__ import annotations

import json

import pytest

from tests.support.waiting import wait_until

pytestmark = pytest.mark.integration


def test_step_functions_executions_run_in_the_dev_emulator(stack, path):
    import boto3

    env = stack.environ
    sfn = boto3.client(
        "stepfunctions",
        endpoint_url=env["AWS_ENDPOINT_URL"],
        region_name=env["AWS_DEFAULT_REGION"],
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
    )
    definition = {
        "StartAt": "Shape",
        "States": {
            "Shape": {"Type": "Pass", "Parameters": {"greeting.$": "$.name"}, "Next": "Done"},
            "Done": {"Type": "Succeed"},
        },
    }
    machine = sfn.create_state_machine(
        name="dev-check-" + path.strip("/")[-40:],
        definition=json.dumps(definition),
        roleArn="arn:aws:iam::123456789012:role/ferry-dev-workflows",
    )["stateMachineArn"]
    execution = sfn.start_execution(stateMachineArn=machine, input=json.dumps({"name": "ferry"}))

    done = wait_until(
        lambda: (
            (d := sfn.describe_execution(executionArn=execution["executionArn"]))["status"] != "RUNNING" and d
        ),
        what="the execution to finish",
    )
    assert done["status"] == "SUCCEEDED"
    assert json.loads(done["output"]) == {"greeting": "ferry"}, "the Pass state really ran"
