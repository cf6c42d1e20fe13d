"""The emulator finds each call's service once per endpoint (`ferry.dev.emulator_routing`): every
service ferry dev uses is routed as moto routes it, other walks of moto's pattern list still see
all of it, and request ids and receipt handles keep their form."""

from __future__ import annotations

import re
import uuid

import boto3
import pytest

pytestmark = pytest.mark.integration


def test_calls_to_every_service_ferry_dev_uses_reach_their_own_backend(stack):
    # Services early and late in moto's list of URL patterns, and two whose host names share a
    # word (dynamodb, streams.dynamodb): a call that started from the wrong place would get
    # another service's answer or moto's "Not yet implemented".
    assert "TableNames" in boto3.client("dynamodb").list_tables()
    assert "Streams" in boto3.client("dynamodbstreams").list_streams()
    sqs = boto3.client("sqs")
    url = sqs.create_queue(QueueName=f"ferry-routing-{uuid.uuid4().hex[:12]}")["QueueUrl"]
    assert url in sqs.list_queues()["QueueUrls"]
    sqs.delete_queue(QueueUrl=url)
    assert "stateMachines" in boto3.client("stepfunctions").list_state_machines()
    assert "Schedules" in boto3.client("scheduler").list_schedules()
    assert "SecretList" in boto3.client("secretsmanager").list_secrets()
    assert boto3.client("sts").get_caller_identity()["Account"]
    name = f"ferry-routing-{uuid.uuid4().hex[:12]}"
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket=name)
    s3.put_object(Bucket=name, Key="a/b.txt", Body=b"routed")
    assert s3.get_object(Bucket=name, Key="a/b.txt")["Body"].read() == b"routed"


def test_a_service_walk_inside_a_call_still_sees_every_pattern(stack):
    import moto.backend_index as backend_index
    from moto.backends import get_service_from_url

    from ferry.dev import emulator_routing

    # As inside a routed call: moto's loop starts at the call's place (here the last pattern),
    # and any later walk in that call, such as moto's own service lookup, sees the whole list.
    patterns = backend_index.backend_url_patterns
    emulator_routing._start.index = len(patterns) - 1
    try:
        assert list(iter(patterns)) == [patterns[-1]]
        assert get_service_from_url("https://dynamodb.us-east-1.amazonaws.com/") == "dynamodb"
        assert len(list(iter(patterns))) == len(patterns)
    finally:
        emulator_routing._start.index = 0  # a failed assertion must not shorten later walks


def test_request_ids_and_receipt_handles_keep_their_form_and_differ(stack):
    sqs = boto3.client("sqs")
    url = sqs.create_queue(QueueName=f"ferry-routing-{uuid.uuid4().hex[:12]}")["QueueUrl"]
    for body in ("one", "two"):
        sqs.send_message(QueueUrl=url, MessageBody=body)
    received = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)
    handles = [m["ReceiptHandle"] for m in received["Messages"]]
    assert len(handles) == 2 and len(set(handles)) == 2
    assert all(re.fullmatch(r"[a-z]{185}", h) for h in handles)
    ids = {sqs.list_queues()["ResponseMetadata"]["RequestId"] for _ in range(3)}
    assert len(ids) == 3 and all(re.fullmatch(r"[A-Za-z0-9]{52}", i) for i in ids)
    sqs.delete_queue(QueueUrl=url)
