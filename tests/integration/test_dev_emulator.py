"""What `ferry dev` runs its AWS resources on: an emulator inside the process, which nothing
outside can reach (issue 9, item 11), with Step Functions executions enabled for workflows."""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request

import pytest

from tests.support.waiting import wait_until

pytestmark = pytest.mark.integration


def get(url: str, token: str | None = None) -> tuple[int, bytes]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def test_the_handlers_reach_the_emulator_without_an_endpoint_to_connect_to(stack):
    assert not [name for name in stack.environ if name.startswith("AWS_ENDPOINT_URL")]
    assert not [name for name in os.environ if name.startswith("AWS_ENDPOINT_URL")]


@pytest.mark.parametrize("route", ["/moto-api/data.json", "/moto-api/", "/v2/keys", "/"])
def test_no_emulator_state_or_secret_is_served_to_a_caller_without_the_token(stack, route):
    status, body = get(stack.url + route)
    assert status in (401, 404), body
    assert "error" in json.loads(body)
    for secret in (
        stack.secrets.api_token,
        stack.secrets.current_signing_key,
        stack.secrets.next_signing_key,
    ):
        assert secret.encode() not in body


def test_a_secret_manager_request_to_the_gateway_gets_no_secret(stack):
    # What the emulator's own server answered to any caller before: GetSecretValue by JSON-RPC.
    request = urllib.request.Request(
        stack.url + "/",
        data=json.dumps({"SecretId": stack.environ["FERRY_API_TOKEN_SECRET"]}).encode(),
        headers={
            "X-Amz-Target": "secretsmanager.GetSecretValue",
            "Content-Type": "application/x-amz-json-1.1",
        },
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            status, body = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, body = error.code, error.read()
    assert status in (401, 404)
    assert stack.secrets.api_token.encode() not in body


def test_step_functions_executions_run_in_the_dev_emulator(stack, path):
    import boto3

    sfn = boto3.client("stepfunctions")  # the process's own emulator, as the handlers use it
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


def test_dynamodb_calls_from_many_threads_run_one_at_a_time_in_the_emulator(stack, monkeypatch):
    """moto's tables are plain dicts: a Query iterating a table while another thread's PutItem
    adds a partition fails with "dictionary changed size during iteration" (it failed a step of
    ten concurrent workflow runs). The emulator serializes DynamoDB calls; each emulated call
    here is stretched so that any two calls let in together would overlap, every run."""
    import threading
    import time

    import boto3
    from moto.dynamodb.models import DynamoDBBackend

    active, most = 0, 0
    lock = threading.Lock()

    def stretched(original):
        def call(self, *args, **kwargs):
            nonlocal active, most
            with lock:
                active += 1
                most = max(most, active)
            try:
                time.sleep(0.02)
                return original(self, *args, **kwargs)
            finally:
                with lock:
                    active -= 1

        return call

    monkeypatch.setattr(DynamoDBBackend, "put_item", stretched(DynamoDBBackend.put_item))
    monkeypatch.setattr(DynamoDBBackend, "query", stretched(DynamoDBBackend.query))
    ddb = boto3.client("dynamodb")
    table = stack.environ["FERRY_TABLE_NAME"]
    key = {"pk": {"S": "emulator-threads"}, "sk": {"S": "0"}}

    def work() -> None:
        for _ in range(5):
            ddb.put_item(TableName=table, Item=key)
            ddb.query(
                TableName=table,
                KeyConditionExpression="pk = :pk",
                ExpressionAttributeValues={":pk": key["pk"]},
            )

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    ddb.delete_item(TableName=table, Key=key)
    assert most == 1.0


def test_a_delete_waits_for_a_send_appending_to_the_same_queue(stack, path):
    # moto rebuilt a queue's message list on delete without the lock its sends append under: a
    # message sent at that moment (a publish beside a dispatcher's batch delete) vanished,
    # accepted and never delivered (1 in a few thousand under `ferry dev` load).
    import threading

    import boto3
    from moto.sqs.models import sqs_backends

    sqs = boto3.client("sqs")
    name = "race-" + path.strip("/")[-40:]
    queue_url = sqs.create_queue(QueueName=name)["QueueUrl"]
    sqs.send_message(QueueUrl=queue_url, MessageBody="first")
    [message] = sqs.receive_message(QueueUrl=queue_url)["Messages"]
    queue = sqs_backends["123456789012"]["us-east-1"].queues[name]
    deleted = threading.Event()

    def delete() -> None:
        sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
        deleted.set()

    with queue._messages_lock:  # what a send holds while it appends
        threading.Thread(target=delete, daemon=True).start()
        assert not deleted.wait(0.5), "the delete rebuilt the list while a send was appending"
    assert deleted.wait(10)


def test_a_receive_waits_for_a_delete_or_receive_changing_the_same_queue(stack, path):
    # moto's receive read the queue's set of in-flight messages while a delete or another
    # receive changed it: "Set changed size during iteration" (seen in `make bench`'s replay of
    # 16 threads), the receive failing with some messages already marked received.
    import threading

    import boto3
    from moto.sqs.models import sqs_backends

    sqs = boto3.client("sqs")
    name = "receive-race-" + path.strip("/")[-30:]
    queue_url = sqs.create_queue(QueueName=name)["QueueUrl"]
    sqs.send_message(QueueUrl=queue_url, MessageBody="first")
    queue = sqs_backends["123456789012"]["us-east-1"].queues[name]
    received: list[dict] = []

    def receive() -> None:
        received.extend(sqs.receive_message(QueueUrl=queue_url).get("Messages") or [])

    with queue._messages_lock:  # what a delete holds while it changes the in-flight set
        thread = threading.Thread(target=receive, daemon=True)
        thread.start()
        thread.join(0.5)
        assert thread.is_alive(), "the receive read the queue while a delete was changing it"
    thread.join(10)
    assert [m["Body"] for m in received] == ["first"]


def test_a_second_emulator_in_the_same_process_is_refused_while_one_runs(stack):
    """moto's backends are process-wide: a second emulator starting (reset=True) would empty the
    running stack's queues and tables under it. Refused instead, and the running one is intact."""
    from ferry.dev.emulator import Emulator, EmulatorAlreadyRunning

    with pytest.raises(EmulatorAlreadyRunning):
        Emulator().start()
    assert stack.emulator is not None and Emulator._running is stack.emulator
    import boto3

    assert boto3.client("dynamodb").describe_table(TableName=stack.environ["FERRY_TABLE_NAME"])


def test_a_send_converts_none_of_the_attribute_names_its_queue_converted_before(stack, path):
    # Each send reads its queue's attributes; moto turned all 14 to 18 names into method names
    # again each time (about 20 µs each, 0.3 ms of every SendMessage).
    import boto3
    import moto.sqs.models as sqs_models
    from moto.core.utils import camelcase_to_underscores as moto_conversion

    sqs = boto3.client("sqs")
    queue_url = sqs.create_queue(QueueName="names-" + path.strip("/")[-30:])["QueueUrl"]
    sqs.send_message(QueueUrl=queue_url, MessageBody="first")
    conversion = sqs_models.camelcase_to_underscores
    misses = conversion.cache_info().misses
    sqs.send_message(QueueUrl=queue_url, MessageBody="second")
    assert conversion.cache_info().misses == misses
    queue = sqs_models.Queue
    assert {n: conversion(n) for n in queue.BASE_ATTRIBUTES + queue.FIFO_ATTRIBUTES} == {
        n: moto_conversion(n) for n in queue.BASE_ATTRIBUTES + queue.FIFO_ATTRIBUTES
    }


def test_emulated_calls_go_unsigned_and_are_answered_in_the_default_account(stack):
    import boto3

    sent: list[dict[str, str]] = []
    sqs = boto3.client("sqs")
    sqs.meta.events.register_first("before-send", lambda request, **_: sent.append(dict(request.headers)))
    url = sqs.create_queue(QueueName="ferry-unsigned")["QueueUrl"]
    assert "/123456789012/" in url  # moto's default account, as with ferry dev's key signed
    assert sqs.get_queue_url(QueueName="ferry-unsigned")["QueueUrl"] == url
    assert sent and not [h for h in sent if "Authorization" in h]
    sqs.delete_queue(QueueUrl=url)
