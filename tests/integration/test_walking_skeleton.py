"""Publish -> SQS -> dispatcher -> signed HTTP delivery, on `ferry dev` (moto server + real handlers)."""

from __future__ import annotations

import io
import json
import time
import urllib.request

import pytest
from qstash import Receiver

from ferry.dev.stack import DevStack
from tests.support.pending import settled, stored_envelopes_naming
from tests.support.queues import attribute, find_in_queue, release
from tests.support.target import Reply, Target
from tests.support.waiting import wait_until

pytestmark = pytest.mark.integration


def states(services, message_id: str) -> list[str]:
    return [e.state for e in services.history.events(message_id)]


def post(
    stack: DevStack,
    route: str,
    *,
    body: bytes = b"",
    headers: dict[str, str] | None = None,
    token: str | None = "default",
) -> tuple[int, dict]:
    all_headers = dict(headers or {})
    if token == "default":
        token = stack.secrets.api_token
    if token is not None:
        all_headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(stack.url + route, data=body, headers=all_headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def test_published_message_is_delivered_with_body_method_and_forwarded_headers(
    stack, target: Target, path, qstash
):
    response = qstash.message.publish(
        url=target.url(path) + "?order=7",
        body=b"\x00binary\xffbody",
        content_type="application/octet-stream",
        method="PUT",
        headers={"X-Tenant": "acme"},
    )

    [got] = target.wait_for(path)
    assert got.method == "PUT"
    assert got.path == path + "?order=7"
    assert got.body == b"\x00binary\xffbody"
    assert got.header("Content-Type") == "application/octet-stream"
    assert got.header("X-Tenant") == "acme"
    assert got.header("Upstash-Message-Id") == response.message_id
    assert got.header("Upstash-Retried") == "0"
    assert got.header("User-Agent") == "Upstash-QStash"


def test_delivery_signature_verifies_with_the_official_qstash_receiver(stack, target, path, qstash):
    url = target.url(path)
    qstash.message.publish_json(url=url, body={"hello": "world"})

    [got] = target.wait_for(path)
    receiver = Receiver(stack.secrets.current_signing_key, stack.secrets.next_signing_key)
    receiver.verify(signature=got.header("Upstash-Signature"), body=got.body.decode(), url=url)
    # The signature binds the body: a tampered body must not verify.
    with pytest.raises(Exception, match="body hash"):
        Receiver(stack.secrets.current_signing_key, stack.secrets.current_signing_key).verify(
            signature=got.header("Upstash-Signature"), body='{"hello": "mallory"}', url=url
        )


def test_target_answering_500_500_200_gets_three_attempts_then_delivered(
    stack, target, path, qstash, services
):
    target.script(path, Reply(500), Reply(500), Reply(200))
    response = qstash.message.publish(url=target.url(path), body="retry me", retries=3, retry_delay="0")

    attempts = target.wait_for(path, count=3)
    assert [a.header("Upstash-Retried") for a in attempts] == ["0", "1", "2"]
    assert {a.header("Upstash-Message-Id") for a in attempts} == {response.message_id}
    wait_until(lambda: "DELIVERED" in states(services, response.message_id), what="DELIVERED in history")
    assert states(services, response.message_id) == [
        "CREATED",
        "ACTIVE",
        "ERROR",
        "RETRY",
        "ACTIVE",
        "ERROR",
        "RETRY",
        "ACTIVE",
        "DELIVERED",
    ]
    assert len(settled(stack, target, path)) == 3, "a delivered message is not delivered again"


def test_exhausted_retries_move_message_to_dlq_with_reason(stack, target, path, qstash, services):
    target.always(path, Reply(500, body=b"boom"))
    response = qstash.message.publish(url=target.url(path), body="doomed", retries=2, retry_delay="0")

    target.wait_for(path, count=3)
    events = wait_until(
        lambda: [e for e in services.history.events(response.message_id) if e.state == "FAILED"],
        what="FAILED in history",
    )
    assert events[0].error == "retries exhausted: 3 attempts, last: HTTP 500"
    assert events[0].response_status == 500

    dlq_url = stack.environ["FERRY_QUEUE_DLQ_URL"]
    found = find_in_queue(
        services.sqs, dlq_url, lambda m: attribute(m, "ferry-message-id") == response.message_id
    )
    release(services.sqs, dlq_url, found)
    [dlq_message] = found
    assert dlq_message["MessageAttributes"]["ferry-failure-reason"]["StringValue"] == events[0].error
    assert dlq_message["MessageAttributes"]["ferry-response-status"]["StringValue"] == "500"
    assert json.loads(dlq_message["Body"])["body"] == "doomed"
    assert len(settled(stack, target, path)) == 3, "retries = 2 means exactly three attempts"


def test_non_retryable_489_goes_to_dlq_at_once(stack, target, path, qstash, services):
    target.always(path, Reply(489, headers={"Upstash-NonRetryable-Error": "true"}))
    response = qstash.message.publish(url=target.url(path), body="x", retries=5, retry_delay="0")
    wait_until(lambda: "FAILED" in states(services, response.message_id), what="FAILED")
    assert len(target.requests_to(path)) == 1


def test_one_batch_delivers_its_records_concurrently_so_a_slow_target_blocks_nobody(
    stack, services, capsys, monkeypatch
):
    """One Lambda-shaped SQS batch straight into the dispatcher handler (no poller in between), to a
    destination of its own: every record's request is in flight at the same time."""
    import hashlib

    from ferry.dev.lambda_context import DevLambdaContext
    from ferry.dev.poller import to_sqs_event
    from ferry.domain.envelope import Envelope
    from ferry.handlers import dispatcher_handler, logger

    # As in Lambda (ferry dev keeps its console quiet): INFO logs and metrics on.
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "false")
    previous_level = logger.log_level
    logger.setLevel("INFO")
    log_lines = io.StringIO()
    previous_stream = logger.registered_handler.setStream(log_lines)
    slow = Target()
    try:
        slow.always("/slow", Reply(200, delay=1.0))
        slow.always("/fast", Reply(200))
        now_ms = int(services.clock.now() * 1000)
        paths = ["/slow"] * 4 + ["/fast"]
        messages = []
        for index, route in enumerate(paths):
            envelope = Envelope(
                id=f"msg_batch_{now_ms}_{index}",
                destination=slow.url(route),
                body=str(index),
                created_at=now_ms,
                not_before=now_ms,
                max_retries=0,
                timeout=30,
            )
            body = envelope.to_json()
            messages.append(
                {
                    "MessageId": f"sqs-batch-{now_ms}-{index}",
                    "ReceiptHandle": "unused-on-success",
                    "Body": body,
                    "Attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": str(now_ms)},
                    "MD5OfBody": hashlib.md5(body.encode()).hexdigest(),
                }
            )
        arn = services.sqs.get_queue_attributes(
            QueueUrl=stack.environ["FERRY_QUEUE_URL"], AttributeNames=["QueueArn"]
        )["Attributes"]["QueueArn"]

        result = dispatcher_handler(
            to_sqs_event(messages, arn, "us-east-1"), DevLambdaContext("ferry-dispatcher")
        )

        assert result["batchItemFailures"] == []
        assert len(slow.requests_to("/slow")) == 4 and len(slow.requests_to("/fast")) == 1
        # Sequential delivery would never have more than one request open at a time.
        assert slow.max_in_flight >= 4, "the batch's slow deliveries overlap instead of queueing"

        # The handler runs under powertools: structured logs with the Lambda context, EMF metrics.
        attempts = [json.loads(line) for line in log_lines.getvalue().splitlines()]
        attempts = [line for line in attempts if line.get("message") == "delivery attempt"]
        metrics = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
        assert len(attempts) == len(paths)
        assert {line["function_name"] for line in attempts} == {"ferry-dispatcher"}
        assert all("body" not in line for line in attempts), "no message bodies in logs by default"
        # (The dev pollers' own invocations may flush metrics in the same moment, so count at least.)
        emf = [line for line in metrics if "_aws" in line]
        assert {m["_aws"]["CloudWatchMetrics"][0]["Namespace"] for m in emf} == {"Ferry"}
        delivered = [m.get("Messages_delivered", []) for m in emf]
        assert sum(sum(v) if isinstance(v, list) else v for v in delivered) >= len(paths)
    finally:
        logger.registered_handler.setStream(previous_stream)
        logger.setLevel(previous_level)
        slow.stop()


def test_attempt_timeout_counts_as_failed_attempt(stack, target, path, qstash, services):
    target.script(path, Reply(200, delay=3.0))
    response = qstash.message.publish(
        url=target.url(path), body="t", timeout="1s", retries=1, retry_delay="0"
    )
    target.wait_for(path, count=2, timeout=30)
    wait_until(lambda: "DELIVERED" in states(services, response.message_id), what="delivered on retry")
    errors = [e for e in services.history.events(response.message_id) if e.state == "ERROR"]
    assert errors[0].error == "timed out after 1s"


def test_delay_holds_the_message_until_it_is_due(stack, target, path, qstash):
    published = time.time()
    qstash.message.publish(url=target.url(path), body="later", delay="3s")
    [got] = target.wait_for(path, timeout=30)
    assert got.at - published >= 2.9


def test_deduplication_id_answers_202_with_the_original_message_id(stack, target, path):
    headers = {"Upstash-Deduplication-Id": path.strip("/"), "Content-Type": "text/plain"}
    first_status, first = post(stack, "/v2/publish/" + target.url(path), body=b"once", headers=headers)
    second_status, second = post(stack, "/v2/publish/" + target.url(path), body=b"once", headers=headers)
    assert (first_status, second_status) == (200, 202)
    assert second == {"messageId": first["messageId"], "url": target.url(path), "deduplicated": True}
    target.wait_for(path)
    assert len(settled(stack, target, path)) == 1


BAD_REQUESTS = [
    pytest.param({"token": None}, 401, "missing token", id="missing-token"),
    pytest.param({"token": "wrong"}, 401, "invalid token", id="wrong-token"),
    pytest.param({"destination": "bad!name"}, 400, "absolute http(s) URL", id="relative-destination"),
    pytest.param({"destination": "no-such-url-group"}, 404, "URL group", id="unknown-url-group"),
    pytest.param({"destination": "ftp://example.com/x"}, 400, "absolute http(s) URL", id="ftp-destination"),
    pytest.param({"headers": {"Upstash-Delay": "soon"}}, 400, "Upstash-Delay", id="malformed-delay"),
    pytest.param({"headers": {"Upstash-Delay": "400d"}}, 400, "Upstash-Delay", id="delay-beyond-a-year"),
    pytest.param({"headers": {"Upstash-Retries": "three"}}, 400, "Upstash-Retries", id="malformed-retries"),
    pytest.param({"headers": {"Upstash-Retries": "-1"}}, 400, "Upstash-Retries", id="negative-retries"),
    pytest.param({"headers": {"Upstash-Method": "BREW"}}, 400, "Upstash-Method", id="unknown-method"),
    pytest.param(
        {"headers": {"Upstash-Retry-Delay": "__import__('os')"}},
        400,
        "Upstash-Retry-Delay",
        id="unsafe-retry-delay",
    ),
    pytest.param(
        {"headers": {"Upstash-Not-Before": "tomorrow"}}, 400, "Upstash-Not-Before", id="bad-not-before"
    ),
    pytest.param({"headers": {"Upstash-Timeout": "10x"}}, 400, "Upstash-Timeout", id="bad-timeout"),
    pytest.param({"headers": {"Upstash-Callback": "nope"}}, 400, "Upstash-Callback", id="bad-callback"),
    pytest.param({"body": b"x" * 750_001}, 413, "750000 bytes", id="body-over-limit"),
    pytest.param(
        {"headers": {"Upstash-Callback-Retries": "x", "Upstash-Callback": "http://127.0.0.1:1/cb"}},
        400,
        "Upstash-Callback-Retries",
        id="bad-callback-retries",
    ),
    pytest.param(
        {
            "headers": {
                "Upstash-Failure-Callback": "http://127.0.0.1:1/f",
                "Upstash-Failure-Callback-Timeout": "x",
            }
        },
        400,
        "Upstash-Failure-Callback-Timeout",
        id="bad-failure-callback-timeout",
    ),
    pytest.param({"headers": {"Upstash-Label": "no spaces allowed"}}, 400, "Upstash-Label", id="bad-label"),
    pytest.param(
        {"headers": {"Upstash-Redact-Fields": "cookies"}}, 400, "Upstash-Redact-Fields", id="bad-redact"
    ),
    pytest.param(
        {"headers": {"Upstash-Flow-Control-Key": "k", "Upstash-Flow-Control-Value": "rate=fast"}},
        400,
        "Upstash-Flow-Control-Value",
        id="bad-flow-control",
    ),
    pytest.param(
        {"headers": {"Upstash-Content-Based-Deduplication": "perhaps"}},
        400,
        "Upstash-Content-Based-Deduplication",
        id="bad-dedup-flag",
    ),
    pytest.param(
        {"headers": {"Upstash-Header-Forward": "sometimes"}},
        400,
        "Upstash-Header-Forward",
        id="bad-forward-flag",
    ),
    pytest.param(
        {"headers": {"Upstash-Failure-Callback": "not a url"}},
        400,
        "Upstash-Failure-Callback",
        id="bad-failure-callback",
    ),
    pytest.param(
        {"headers": {"Upstash-Callback": "http://127.0.0.1:1/cb", "Upstash-Callback-Method": "BREW"}},
        400,
        "Upstash-Callback-Method",
        id="bad-callback-method",
    ),
    pytest.param(
        {"headers": {"Upstash-Callback": "http://127.0.0.1:1/cb", "Upstash-Callback-Delay": "later"}},
        400,
        "Upstash-Callback-Delay",
        id="bad-callback-delay",
    ),
    pytest.param(
        {"headers": {"Upstash-Callback": "http://127.0.0.1:1/cb", "Upstash-Callback-Retry-Delay": "exec(1)"}},
        400,
        "Upstash-Callback-Retry-Delay",
        id="bad-callback-retry-delay",
    ),
    pytest.param({"route": "/v2/enqueue/bad%20queue!/"}, 400, "queue name", id="bad-queue-name"),
    pytest.param({"headers": {"Upstash-Cron": "* * * * *"}}, 400, "/v2/schedules", id="cron-on-publish"),
    pytest.param(
        {"route": "/v2/enqueue/q1/", "headers": {"Upstash-Delay": "10s"}}, 400, "queue", id="delay-with-queue"
    ),
]


@pytest.mark.parametrize(("bad", "status", "message"), BAD_REQUESTS)
def test_bad_input_is_refused_with_a_clear_error_and_nothing_is_enqueued(
    stack, target, path, services, bad, status, message
):
    destination = bad.get("destination", target.url(path))
    code, body = post(
        stack,
        bad.get("route", "/v2/publish/") + destination,
        body=bad.get("body", b"payload"),
        headers=bad.get("headers"),
        token=bad.get("token", "default"),
    )
    assert code == status
    assert message in body["error"]
    assert body.get("field") or status in (401, 404), "the error names the field to fix"
    assert settled(stack, target, path) == []
    assert stored_envelopes_naming(stack, path + '"') == 0, "a refused request leaves no message behind"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"not json", "JSON"),
        (b'{"destination": "x"}', "array"),
    ],
    ids=["not-json", "not-an-array"],
)
def test_malformed_batch_body_is_refused_and_nothing_is_enqueued(
    stack, target, path, services, body, message
):
    code, answer = post(stack, "/v2/batch", body=body, headers={"Content-Type": "application/json"})
    assert code == 400, answer
    assert message.lower() in answer["error"].lower() and answer.get("field")
    assert settled(stack, target, path) == []


def test_a_very_long_deduplication_id_still_deduplicates(stack, target, path, qstash):
    dedup_id = "order-" + "x" * 3000
    first = qstash.message.publish(url=target.url(path), body="a", deduplication_id=dedup_id)
    second = qstash.message.publish(url=target.url(path), body="b", deduplication_id=dedup_id)
    assert second.message_id == first.message_id and second.deduplicated
    target.wait_for(path)
    assert len(settled(stack, target, path)) == 1


def test_unknown_route_is_a_json_404(stack):
    code, body = post(stack, "/v2/nothing-here")
    assert code == 404
    assert "no route" in body["error"]


def test_a_batch_whose_every_record_awaits_a_retry_reports_them_without_an_invocation_error(
    stack, target, path, services
):
    """Lambda counts a raised handler as a failed invocation and backs off; a batch where every
    delivery failed (and is scheduled for retry) must return batchItemFailures instead. The batch
    is fed by hand from a queue the dev pollers do not read, so the test controls it."""
    from ferry.dev.lambda_context import DevLambdaContext
    from ferry.dev.poller import to_sqs_event
    from ferry.domain.envelope import Envelope
    from ferry.handlers import dispatcher_handler

    target.always(path, Reply(503))
    side_queue = stack.environ["FERRY_QUEUE_DLQ_URL"]
    sqs = services.sqs
    for i in range(3):
        envelope = Envelope(
            id=f"msg_allfail{i}",
            destination=target.url(path),
            created_at=0,
            not_before=0,
            max_retries=3,
            timeout=5,
            body=str(i),
            retry_delay="60000",
        )
        sqs.send_message(QueueUrl=side_queue, MessageBody=envelope.to_json())
    got = wait_until(
        lambda: [
            m
            for m in sqs.receive_message(
                QueueUrl=side_queue, MaxNumberOfMessages=10, AttributeNames=["All"], WaitTimeSeconds=1
            ).get("Messages", [])
            if "allfail" in m["Body"]
        ],
        what="the hand-fed batch",
    )
    arn = sqs.get_queue_attributes(QueueUrl=side_queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    result = dispatcher_handler(to_sqs_event(got, arn, "us-east-1"), DevLambdaContext("ferry-dispatcher"))
    assert {f["itemIdentifier"] for f in result["batchItemFailures"]} == {m["MessageId"] for m in got}
    assert len(target.requests_to(path)) == len(got)
    for message in got:
        sqs.delete_message(QueueUrl=side_queue, ReceiptHandle=message["ReceiptHandle"])


def _unfinished_receive(stack, services, envelope, receive_count: int):
    """The dispatcher's use case on a receive whose earlier receives ended without an outcome (what
    SQS shows after a Lambda crash or timeout: a higher ApproximateReceiveCount, no history)."""
    from ferry.usecases.ports import QueuedMessage

    return services.deliver(
        QueuedMessage(
            envelope=envelope,
            receive_count=receive_count,
            receipt_handle="unused",
            queue_url=stack.environ["FERRY_QUEUE_URL"],
            sqs_message_id=f"sqs-{envelope.id}",
        )
    )


def _created(services, target, path, suffix: str):
    from ferry.domain.envelope import Envelope
    from ferry.domain.history import LogEvent, State

    now_ms = int(services.clock.now() * 1000)
    envelope = Envelope(
        id=f"msg_{path.strip('/')[-40:]}_{suffix}",
        destination=target.url(path),
        body="crash victim",
        created_at=now_ms,
        not_before=now_ms,
        max_retries=1,
        timeout=5,
    )
    services.history.message_created(envelope, LogEvent.of(envelope, State.CREATED, now_ms))
    return envelope, now_ms


def test_message_whose_attempts_keep_crashing_the_dispatcher_is_dead_lettered_with_reason(
    stack, target, path, qstash, services
):
    from ferry.usecases.deliver_message import Outcome

    envelope, _ = _created(services, target, path, "a")
    # Budget: 2 attempts. The third receive means one receive never finished.
    report = _unfinished_receive(stack, services, envelope, receive_count=3)

    assert report.outcome is Outcome.DEAD_LETTERED
    [failed] = [e for e in services.history.events(envelope.id) if e.state == "FAILED"]
    assert "did not finish 1 attempt(s)" in failed.error
    assert qstash.dlq.get(failed.dlq_id).message_id == envelope.id
    assert target.requests_to(path) == [], "no further attempt after crashes exhausted the budget"


@pytest.mark.parametrize("receive_count", [2, 3], ids=["within-budget", "beyond-budget"])
def test_message_received_again_after_its_outcome_was_recorded_is_neither_delivered_nor_dead_lettered(
    stack, target, path, qstash, services, receive_count
):
    """E.g. a batch-mate timed the invocation out after this message was delivered, before SQS
    deleted it: at-least-once allows a second delivery, but Ferry avoids it when it can tell."""
    from ferry.domain.history import LogEvent, State
    from ferry.usecases.deliver_message import Outcome

    envelope, now_ms = _created(services, target, path, f"b{receive_count}")
    services.history.record(envelope, [LogEvent.of(envelope, State.DELIVERED, now_ms + 1)])
    report = _unfinished_receive(stack, services, envelope, receive_count=receive_count)

    assert report.outcome is Outcome.DROPPED
    assert states(services, envelope.id) == ["CREATED", "DELIVERED"]
    assert target.requests_to(path) == []


def test_ferry_dev_keeps_no_metrics_it_never_publishes(stack, target: Target, path, qstash):
    # Metrics are off in ferry dev; powertools holds what it does not flush and prints it to
    # stdout once a metric reaches 100 values, so the dispatcher adds none there.
    from ferry.handlers import metrics

    qstash.message.publish(url=target.url(path), body=b"counted")
    # Deleted from the queue: the invocation that delivered it has returned (metrics added before).
    settled(stack, target, path)
    assert metrics.metric_set == {}
