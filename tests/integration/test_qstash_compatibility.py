"""The official `qstash` SDK, unchanged, against `ferry dev`: every messages-API method, with the
outcome checked at a real HTTP endpoint on 127.0.0.1 and in Ferry's history."""

from __future__ import annotations

import base64
import itertools
import json
import time
import urllib.request

import pytest
from qstash import QStash, Receiver
from qstash.log import LogState
from qstash.message import FlowControl

from tests.support.pending import settled
from tests.support.queues import attribute, find_in_queue
from tests.support.target import Reply
from tests.support.waiting import wait_until

pytestmark = pytest.mark.integration


def states(services, message_id: str) -> list[str]:
    return [e.state for e in services.history.events(message_id)]


def call(
    stack, method: str, route: str, body: bytes | None = None, headers: dict | None = None
) -> tuple[int, object]:
    request = urllib.request.Request(
        stack.url + route,
        data=body,
        method=method,
        headers={"Authorization": f"Bearer {stack.secrets.api_token}", **(headers or {})},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


# --- publish options -----------------------------------------------------------------------------


def test_message_get_returns_the_stored_message_in_qstash_shape(stack, target, path, qstash: QStash):
    response = qstash.message.publish(
        url=target.url(path),
        body="hello",
        headers={"X-Test": "1"},
        retries=1,
        retry_delay="1000",
        label="billing",
    )
    message = qstash.message.get(response.message_id)
    assert message.message_id == response.message_id
    assert message.url == target.url(path)
    assert message.body == "hello"
    assert message.headers["X-Test"] == ["1"]
    assert message.max_retries == 1
    assert message.retry_delay_expression == "1000"
    assert message.label == "billing"
    assert message.caller_ip == "127.0.0.1"
    target.wait_for(path)


def test_redacted_fields_are_hidden_in_the_api_but_delivered_for_real(stack, target, path, qstash):
    response = qstash.message.publish(
        url=target.url(path),
        body="secret body",
        headers={"Authorization": "Bearer hunter2", "X-Visible": "yes"},
        redact={"body": True, "header": ["Authorization"]},
    )
    [got] = target.wait_for(path)
    assert got.body == b"secret body" and got.header("Authorization") == "Bearer hunter2"
    message = qstash.message.get(response.message_id)
    assert message.body.startswith("REDACTED:")
    assert message.headers["Authorization"][0].startswith("REDACTED:")
    assert message.headers["X-Visible"] == ["yes"]


def test_content_based_deduplication_through_the_sdk(stack, target, path, qstash):
    first = qstash.message.publish(url=target.url(path), body="same", content_based_deduplication=True)
    second = qstash.message.publish(url=target.url(path), body="same", content_based_deduplication=True)
    assert second.message_id == first.message_id and second.deduplicated
    target.wait_for(path)
    assert len(settled(stack, target, path)) == 1


def test_not_before_delays_delivery(stack, target, path, qstash):
    at = int(time.time()) + 3
    qstash.message.publish(url=target.url(path), body="x", not_before=at)
    [got] = target.wait_for(path, timeout=30)
    assert got.at >= at - 1


# --- callbacks -----------------------------------------------------------------------------------


def test_success_callback_is_a_signed_message_with_qstash_callback_body(
    stack, target, path, qstash, services
):
    callback_path = path + "-callback"
    target.script(path, Reply(200, body=b"done!"))
    response = qstash.message.publish(
        url=target.url(path),
        body="job",
        callback=target.url(callback_path),
        callback_headers={"X-Callback-Tag": "t1"},
    )
    [got] = target.wait_for(callback_path)
    payload = json.loads(got.body)
    assert payload["status"] == 200
    assert base64.b64decode(payload["body"]) == b"done!"
    assert payload["sourceMessageId"] == response.message_id
    assert payload["url"] == target.url(path)
    assert base64.b64decode(payload["sourceBody"]) == b"job"
    assert (payload["retried"], payload["maxRetries"]) == (0, 3)
    assert got.header("X-Callback-Tag") == "t1"
    Receiver(stack.secrets.current_signing_key, stack.secrets.next_signing_key).verify(
        signature=got.header("Upstash-Signature"), body=got.body.decode(), url=target.url(callback_path)
    )


def test_failure_callback_fires_once_when_retries_are_exhausted(stack, target, path, qstash, services):
    failure_path = path + "-failure"
    target.always(path, Reply(500, body=b"nope"))
    response = qstash.message.publish(
        url=target.url(path),
        body="job",
        retries=1,
        retry_delay="0",
        failure_callback=target.url(failure_path),
    )
    [got] = target.wait_for(failure_path, timeout=30)
    payload = json.loads(got.body)
    assert payload["status"] == 500 and payload["sourceMessageId"] == response.message_id
    assert payload["dlqId"].startswith("dlq_")
    assert payload["retried"] == payload["maxRetries"] == 1
    assert len(settled(stack, target, failure_path)) == 1


def test_failure_callback_is_itself_a_signed_retried_message_with_its_own_options(
    stack, target, path, qstash, services
):
    failure_path = path + "-failure"
    target.always(path, Reply(500))
    target.script(failure_path, Reply(503), Reply(200))
    code, body = call(
        stack,
        "POST",
        "/v2/publish/" + target.url(path),
        body=b"job",
        headers={
            "Upstash-Retries": "0",
            "Upstash-Failure-Callback": target.url(failure_path),
            "Upstash-Failure-Callback-Method": "PUT",
            "Upstash-Failure-Callback-Retries": "2",
            "Upstash-Failure-Callback-Retry-Delay": "0",
            "Upstash-Failure-Callback-Forward-X-Tag": "f1",
        },
    )
    assert code == 200, body
    first, second = target.wait_for(failure_path, count=2, timeout=30)
    assert (first.header("Upstash-Retried"), second.header("Upstash-Retried")) == ("0", "1")
    assert second.method == "PUT" and second.header("X-Tag") == "f1"
    assert json.loads(second.body)["sourceMessageId"] == body["messageId"]
    Receiver(stack.secrets.current_signing_key, stack.secrets.next_signing_key).verify(
        signature=second.header("Upstash-Signature"), body=second.body.decode(), url=target.url(failure_path)
    )
    callback_id = second.header("Upstash-Message-Id")
    wait_until(lambda: "DELIVERED" in states(services, callback_id), what="failure callback delivered")


# --- cancel --------------------------------------------------------------------------------------


def test_cancelled_message_is_never_delivered_even_between_retries(stack, target, path, qstash, services):
    target.script(path, Reply(500))
    response = qstash.message.publish(url=target.url(path), body="x", retries=3, retry_delay="3000")
    # Between retries: once the failed attempt is recorded and its retry is waiting (a cancel
    # while the target answers would be a cancel during an attempt, which cannot stop it).
    wait_until(lambda: "RETRY" in states(services, response.message_id), what="the retry waiting")
    qstash.message.cancel(response.message_id)
    wait_until(lambda: "CANCELED" in states(services, response.message_id), timeout=20, what="CANCELED")
    assert len(settled(stack, target, path)) == 1
    assert states(services, response.message_id)[-2:] == ["CANCEL_REQUESTED", "CANCELED"]


def test_cancel_of_a_delayed_message_in_sqs(stack, target, path, qstash, services):
    response = qstash.message.publish(url=target.url(path), body="x", delay="2s")
    qstash.message.cancel(response.message_id)
    wait_until(lambda: "CANCELED" in states(services, response.message_id), timeout=20, what="CANCELED")
    assert target.requests_to(path) == []


def test_cancel_many_and_cancel_of_unknown_id(stack, target, path, qstash, services):
    ids = [qstash.message.publish(url=target.url(path), body=str(i), delay="3s").message_id for i in range(3)]
    assert qstash.message.cancel_many(ids[:2]) == 2
    target.wait_for(path, count=1, timeout=20)
    assert len(settled(stack, target, path)) == 1
    code, body = call(stack, "DELETE", "/v2/messages/msg_doesnotexist")
    assert code == 404 and "not found" in body["error"]


def test_bulk_cancel_stopped_by_its_time_budget_says_incomplete_and_a_repeat_finishes(
    stack, target, path, qstash, services
):
    from ferry.api.shapes import bulk_body
    from ferry.usecases.messages import Messages

    ids = [qstash.message.publish(url=target.url(path), body=str(i), delay="5s").message_id for i in range(3)]
    out_of_time = Messages(history=services.history, clock=services.clock, bulk_budget_seconds=0)
    run = out_of_time.cancel_many(ids=ids)
    assert bulk_body({"cancelled": sum(run.results)}, run) == {"cancelled": 0, "incomplete": True}

    run = services.messages.cancel_many(ids=ids)
    assert bulk_body({"cancelled": sum(run.results)}, run) == {"cancelled": 3}
    for message_id in ids:
        wait_until(lambda m=message_id: "CANCELED" in states(services, m), timeout=20, what="CANCELED")
    assert target.requests_to(path) == []


def test_cancel_all_cancels_pending_messages(stack, target, path, qstash, services):
    ids = [qstash.message.publish(url=target.url(path), body=str(i), delay="4s").message_id for i in range(2)]
    assert qstash.message.cancel_all() >= 2
    for message_id in ids:
        wait_until(lambda m=message_id: "CANCELED" in states(services, m), timeout=20, what="CANCELED")
    assert target.requests_to(path) == []


# --- batch and enqueue ---------------------------------------------------------------------------


def test_batch_publishes_each_item(stack, target, path, qstash):
    responses = qstash.message.batch_json(
        [
            {"url": target.url(path + "-a"), "body": {"n": 1}},
            {"url": target.url(path + "-b"), "body": {"n": 2}},
        ]
    )
    assert len(responses) == 2
    assert json.loads(target.wait_for(path + "-a")[0].body) == {"n": 1}
    assert json.loads(target.wait_for(path + "-b")[0].body) == {"n": 2}


def test_one_bad_batch_item_refuses_only_itself(stack, target, path):
    items = [
        {"destination": target.url(path), "headers": {}, "body": "good"},
        {"destination": target.url(path), "headers": {"Upstash-Retries": "many"}, "body": "bad"},
        {"destination": "not a url!", "body": "bad"},
        {"destination": "no-such-url-group", "body": "bad"},
    ]
    code, body = call(
        stack, "POST", "/v2/batch", json.dumps(items).encode(), {"Content-Type": "application/json"}
    )
    assert code == 200
    assert body[0]["messageId"].startswith("msg_")
    assert body[1]["field"] == "Upstash-Retries" and body[1]["status"] == 400
    assert body[2]["field"] == "destination"
    assert body[3]["status"] == 404 and "URL group" in body[3]["error"]
    target.wait_for(path)
    assert [r.body for r in settled(stack, target, path)] == [b"good"]


def test_enqueue_delivers_one_at_a_time_in_order(stack, target, path, qstash):
    target.always(path, Reply(200, delay=0.3))
    queue = path.strip("/").replace("_", "-")[:60]
    for i in range(4):
        qstash.message.enqueue(queue=queue, url=target.url(path), body=str(i))
    got = target.wait_for(path, count=4, timeout=30)
    assert [r.body for r in got] == [b"0", b"1", b"2", b"3"]
    for earlier, later in itertools.pairwise(got):
        assert later.at - earlier.at >= 0.25, "the next message waits for the previous one"


# --- logs ----------------------------------------------------------------------------------------


def wait_for_delivered_log(qstash, message_id: str) -> None:
    wait_until(
        lambda: any(
            log.state == LogState.DELIVERED for log in qstash.log.list(filter={"message_id": message_id}).logs
        ),
        what="DELIVERED log",
    )


def test_logs_list_every_transition_with_filters_and_cursor(stack, target, path, qstash):
    target.script(path, Reply(500, body=b"first fails"))
    response = qstash.message.publish(
        url=target.url(path), body="x", retries=1, retry_delay="0", label=path[1:40]
    )
    wait_for_delivered_log(qstash, response.message_id)
    logs = qstash.log.list(filter={"message_id": response.message_id}).logs
    assert [log.state.value for log in logs] == ["DELIVERED", "ACTIVE", "RETRY", "ERROR", "ACTIVE", "CREATED"]
    error = next(log for log in logs if log.state == LogState.ERROR)
    assert error.response_status == 500
    assert base64.b64decode(error.response_body) == b"first fails"

    by_label = qstash.log.list(filter={"label": path[1:40], "state": LogState.ERROR}).logs
    assert [log.message_id for log in by_label] == [response.message_id]

    pages, cursor = [], None
    while True:
        result = qstash.log.list(cursor=cursor, count=2, filter={"url": target.url(path)})
        pages.append(result.logs)
        cursor = result.cursor
        if cursor is None:
            break
    assert all(len(p) <= 3 for p in pages) and len(pages) >= 3
    assert sorted(log.time for p in pages for log in p) == sorted(log.time for log in logs)

    # Time range (ms, inclusive): only the events between the first ACTIVE and the first ERROR.
    times = sorted(log.time for log in logs)
    window = qstash.log.list(
        filter={"message_id": response.message_id, "from_time": times[1], "to_time": times[3]}
    ).logs
    assert sorted(log.time for log in window) == [t for t in times if times[1] <= t <= times[3]]
    assert len(window) < len(logs)
    later = qstash.log.list(filter={"message_id": response.message_id, "from_time": times[-1] + 1}).logs
    assert later == []


def test_every_log_entry_repeats_the_messages_small_fields_as_qstash_does(stack, target, path, qstash):
    callback = target.url(path + "-cb")
    response = qstash.message.publish(
        url=target.url(path),
        body="x",
        method="PUT",
        retries=2,
        retry_delay="15000",
        timeout="7s",
        callback=callback,
        flow_control=FlowControl(key="fc-" + path.strip("/")[-20:], parallelism=3),
    )
    wait_for_delivered_log(qstash, response.message_id)
    logs = qstash.log.list(filter={"message_id": response.message_id}).logs
    assert {log.state.value for log in logs} >= {"CREATED", "ACTIVE", "DELIVERED"}
    for log in logs:  # the SDK's Log, read from the wire as the official suite reads it
        assert log.retry_delay_expression == "15000"
        assert log.method == "PUT" and log.max_retries == 2 and log.timeout == 7
        assert log.callback == callback
        assert log.flow_control is not None and log.flow_control.parallelism == 3
    status, raw = call(stack, "GET", f"/v2/logs?messageId={response.message_id}")
    assert status == 200
    assert {e["retryDelayExpression"] for e in raw["logs"]} == {"15000"}


# --- DLQ -----------------------------------------------------------------------------------------


def _failed_message(qstash, target, path, services, body="dead") -> tuple[str, str]:
    target.always(path, Reply(500, headers={"X-Why": "broken"}, body=b"server said no"))
    message_id = qstash.message.publish(url=target.url(path), body=body, retries=0).message_id
    failed = wait_until(
        lambda: [e for e in services.history.events(message_id) if e.state == "FAILED"], what="FAILED"
    )
    return message_id, failed[0].dlq_id


def test_dlq_list_get_and_delete(stack, target, path, qstash, services):
    message_id, dlq_id = _failed_message(qstash, target, path, services)
    listed = qstash.dlq.list(filter={"url": target.url(path)})
    assert [m.dlq_id for m in listed.messages] == [dlq_id]
    entry = qstash.dlq.get(dlq_id)
    assert entry.message_id == message_id
    assert entry.response_status == 500
    assert entry.response_body == "server said no"
    assert entry.response_headers["X-Why"] == ["broken"]
    qstash.dlq.delete(dlq_id)
    assert qstash.dlq.list(filter={"url": target.url(path)}).messages == []
    code, _ = call(stack, "GET", f"/v2/dlq/{dlq_id}")
    assert code == 404


def test_dlq_delete_many(stack, target, path, qstash, services):
    ids = [_failed_message(qstash, target, path, services, body=str(i))[1] for i in range(2)]
    assert qstash.dlq.delete_many([*ids, "dlq_unknown"]) == 2


def test_dlq_retry_is_a_new_message_with_a_fresh_budget(stack, target, path, qstash, services):
    message_id, dlq_id = _failed_message(qstash, target, path, services, body="again")
    target.always(path, Reply(200))
    code, body = call(stack, "POST", f"/v2/dlq/retry?dlqIds={dlq_id}")
    assert code == 201
    [retried] = body["responses"]
    assert retried["messageId"] != message_id
    got = target.wait_for(path, count=2)
    assert got[-1].body == b"again" and got[-1].header("Upstash-Message-Id") == retried["messageId"]
    wait_until(lambda: "DELIVERED" in states(services, retried["messageId"]), what="DELIVERED")
    assert qstash.dlq.list(filter={"url": target.url(path)}).messages == []


def test_dlq_retry_gets_the_whole_retry_budget_again(stack, target, path, qstash, services):
    target.always(path, Reply(500))
    message_id = qstash.message.publish(url=target.url(path), body="b", retries=1, retry_delay="0").message_id
    [failed] = wait_until(
        lambda: [e for e in services.history.events(message_id) if e.state == "FAILED"], what="FAILED"
    )
    code, body = call(stack, "POST", f"/v2/dlq/retry/{failed.dlq_id}")
    assert code == 201
    retried = body["messageId"]
    wait_until(lambda: "FAILED" in states(services, retried), what="FAILED again")
    attempts = [r.header("Upstash-Retried") for r in target.wait_for(path, count=4)]
    assert attempts == ["0", "1", "0", "1"], "two attempts before, two fresh attempts after the retry"


def test_dlq_retry_headers_override_the_stored_publish_configuration(stack, target, path, qstash, services):
    _, dlq_id = _failed_message(qstash, target, path, services, body="configured")
    target.always(path, Reply(503))
    code, body = call(
        stack,
        "POST",
        f"/v2/dlq/retry/{dlq_id}",
        headers={
            "Upstash-Retries": "0",
            "Upstash-Method": "PUT",
            "Upstash-Forward-X-Run": "second",
            "Upstash-Delay": "1s",
            "Upstash-Label": "rerun",
        },
    )
    assert code == 201, body
    retried = body["messageId"]
    failed = wait_until(
        lambda: [e for e in services.history.events(retried) if e.state == "FAILED"], what="FAILED again"
    )
    attempts = target.wait_for(path, count=2)[1:]
    assert len(attempts) == 1, "Upstash-Retries: 0 on the retry request means one attempt"
    assert attempts[0].method == "PUT" and attempts[0].header("X-Run") == "second"
    assert attempts[0].body == b"configured"
    created = services.history.events(retried)[0]
    assert created.next_delivery_ms >= created.time_ms + 1000, "Upstash-Delay: 1s"
    assert qstash.dlq.get(failed[0].dlq_id).label == "rerun"


def test_dlq_retry_with_a_bad_override_is_refused_and_keeps_the_entry(stack, target, path, qstash, services):
    message_id, dlq_id = _failed_message(qstash, target, path, services, body="keep")
    code, body = call(stack, "POST", f"/v2/dlq/retry/{dlq_id}", headers={"Upstash-Retries": "many"})
    assert code == 400 and "Upstash-Retries" in body["error"]
    assert qstash.dlq.get(dlq_id).message_id == message_id


def test_dlq_retry_that_cannot_be_enqueued_keeps_the_entry_in_the_dlq(stack, target, path, qstash, services):
    from ferry.adapters.sqs_queue import SqsQueue
    from ferry.domain.errors import Unavailable
    from ferry.usecases.dead_letters import DeadLetters

    message_id, dlq_id = _failed_message(qstash, target, path, services, body="keep me")
    missing = stack.environ["FERRY_QUEUE_URL"] + "-deleted"
    broken = DeadLetters(
        history=services.history,
        queue=SqsQueue(
            services.sqs,
            queue_url=missing,
            queue_dlq_url=missing,
            fifo_queue_url=missing,
            fifo_queue_dlq_url=missing,
        ),
        clock=services.clock,
        limits=services.settings.config.limits,
        allow_private=True,
    )
    with pytest.raises(Unavailable, match="still in the DLQ"):
        broken.retry(dlq_id)
    assert qstash.dlq.get(dlq_id).message_id == message_id

    # The entry is intact: a retry through the API now delivers it.
    target.always(path, Reply(200))
    code, body = call(stack, "POST", f"/v2/dlq/retry?dlqIds={dlq_id}")
    assert code == 201 and len(body["responses"]) == 1
    assert target.wait_for(path, count=2)[-1].body == b"keep me"


def test_console_redrive_of_the_sqs_dlq_is_a_normal_delivery(stack, target, path, qstash, services):
    """The AWS console's "Start DLQ redrive" (StartMessageMoveTask) moves the SQS DLQ message, body and
    attributes unchanged, back to the source queue. moto has no StartMessageMoveTask, so this test
    moves the message exactly that way itself, then checks the dispatcher's side."""
    message_id, dlq_id = _failed_message(qstash, target, path, services, body="redrive me")
    target.always(path, Reply(200))
    sqs = services.sqs

    [moved] = find_in_queue(
        sqs, stack.environ["FERRY_QUEUE_DLQ_URL"], lambda m: attribute(m, "ferry-dlq-id") == dlq_id
    )
    attributes = {
        name: {k: v for k, v in value.items() if k in ("DataType", "StringValue")}
        for name, value in moved["MessageAttributes"].items()
    }
    sqs.send_message(
        QueueUrl=stack.environ["FERRY_QUEUE_URL"], MessageBody=moved["Body"], MessageAttributes=attributes
    )
    sqs.delete_message(QueueUrl=stack.environ["FERRY_QUEUE_DLQ_URL"], ReceiptHandle=moved["ReceiptHandle"])

    got = target.wait_for(path, count=2)
    assert got[-1].body == b"redrive me" and got[-1].header("Upstash-Retried") == "0"
    wait_until(lambda: states(services, message_id)[-1] == "DELIVERED", what="DELIVERED after redrive")
    assert qstash.dlq.list(filter={"url": target.url(path)}).messages == [], "the DLQ entry is consumed"


# --- signing keys --------------------------------------------------------------------------------


def test_signing_keys_get_and_rotate_keep_receivers_verifying(stack, target, path, qstash):
    before = qstash.signing_key.get()
    assert (before.current, before.next) == (
        stack.secrets.current_signing_key,
        stack.secrets.next_signing_key,
    )
    receiver = Receiver(before.current, before.next)
    try:
        after = qstash.signing_key.rotate()
        assert after.current == before.next and after.next not in (before.current, before.next)
        # Signatures made after the rotation verify for a receiver still holding the old pair...
        qstash.message.publish(url=target.url(path), body="after rotation")
        [got] = target.wait_for(path, timeout=90)
        receiver.verify(
            signature=got.header("Upstash-Signature"), body="after rotation", url=target.url(path)
        )
        # ...and for one that has picked up the new pair.
        Receiver(after.current, after.next).verify(
            signature=got.header("Upstash-Signature"), body="after rotation", url=target.url(path)
        )
    finally:
        restore = services_keys(stack)
        restore(before.current, before.next)


def services_keys(stack):
    """Put the session's dev keys back so later tests verify with the documented defaults."""
    from ferry.wiring import services

    def restore(current: str, next_key: str) -> None:
        client = services().secretsmanager
        client.put_secret_value(
            SecretId=stack.environ["FERRY_SIGNING_KEY_CURRENT_SECRET"], SecretString=current
        )
        client.put_secret_value(
            SecretId=stack.environ["FERRY_SIGNING_KEY_NEXT_SECRET"], SecretString=next_key
        )
        services().keys.clear_cache()

    return restore


# --- long delays ---------------------------------------------------------------------------------


def test_long_delay_travels_as_a_one_time_scheduler_schedule_and_delivers_on_time(
    stack, target, path, qstash, services, clock
):
    response = qstash.message.publish(url=target.url(path), body="in twenty minutes", delay="20m")
    message = qstash.message.get(response.message_id)
    assert message.not_before - message.created_at == 20 * 60 * 1000
    schedule = services.scheduler.get_schedule(GroupName="ferry-delays", Name=response.message_id)
    assert schedule["ScheduleExpression"].startswith("at(")
    assert schedule["ActionAfterCompletion"] == "DELETE"
    assert schedule["FlexibleTimeWindow"] == {"Mode": "OFF"}

    time.sleep(2)
    assert target.requests_to(path) == [], "nothing is delivered before its time"
    due_in = (message.not_before / 1000) - clock.now()
    with clock.advanced(due_in + 1):
        [got] = target.wait_for(path, timeout=30)
        assert got.header("Upstash-Message-Id") == response.message_id
    with pytest.raises(services.scheduler.exceptions.ResourceNotFoundException):
        services.scheduler.get_schedule(GroupName="ferry-delays", Name=response.message_id)


@pytest.mark.parametrize("status", [429, 503])
def test_retry_after_on_429_and_503_sets_the_next_attempt(stack, target, path, qstash, services, status):
    target.script(path, Reply(status, headers={"Retry-After": "2"}), Reply(200))
    response = qstash.message.publish(url=target.url(path), body="x", retries=2)
    first, second = target.wait_for(path, count=2, timeout=30)
    assert second.at - first.at >= 1.5, "the default backoff (12 s) is replaced by Retry-After (2 s)"
    retry = next(e for e in services.history.events(response.message_id) if e.state == "RETRY")
    assert retry.next_delivery_ms - retry.time_ms == 2000


def test_configuration_in_the_query_string_applies_like_headers(stack, target, path):
    code, body = call(
        stack,
        "POST",
        f"/v2/publish/{target.url(path)}?keep=1&upstash-forward-x-from-query=yes&upstash-retries=0",
        b"q",
    )
    assert code == 200 and body["url"] == target.url(path) + "?keep=1"
    [got] = target.wait_for(path)
    assert got.header("X-From-Query") == "yes"


def test_an_unknown_filter_is_refused_instead_of_widening_a_bulk_cancel(
    stack, target, path, qstash, services
):
    pending = qstash.message.publish(url=target.url(path), body="keep me", delay="3s").message_id
    code, body = call(stack, "DELETE", "/v2/messages?host=example.com")
    assert code == 400 and body["field"] == "host"
    target.wait_for(path, timeout=20)
    assert "CANCEL_REQUESTED" not in [e.state for e in services.history.events(pending)]


# --- OpenAPI and retention -----------------------------------------------------------------------


def test_openapi_document_is_served_to_token_holders_only(stack):
    from ferry.api.openapi import document_text

    code, document = call(stack, "GET", "/v2/openapi.json")
    assert code == 200 and document == json.loads(document_text())
    request = urllib.request.Request(stack.url + "/v2/openapi.json")
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)
    assert refused.value.code == 401


def test_history_expires_after_the_configured_retention(stack, target, path, qstash, services):
    message_id = qstash.message.publish(url=target.url(path), body="kept a while").message_id
    target.wait_for(path)
    wait_until(lambda: "DELIVERED" in states(services, message_id), what="DELIVERED")
    items = services.dynamodb.query(
        TableName=stack.environ["FERRY_TABLE_NAME"],
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": f"MSG#{message_id}"}},
    )["Items"]
    retention = services.settings.history_retention_days * 86_400
    now = services.clock.now()
    assert len(items) >= 3  # the message (carrying its CREATED event), ACTIVE, DELIVERED
    for item in items:
        assert now + retention - 120 <= int(item["ttl"]["N"]) <= now + retention + 120
