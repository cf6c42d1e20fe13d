"""The `ferry` API commands, run in-process (`ferry.cli.main`) against the session's `ferry dev` stack,
with every outcome checked at a real HTTP destination on 127.0.0.1 or in Ferry's history."""

from __future__ import annotations

import contextlib
import json
import pathlib
import subprocess
import sys
import time
from dataclasses import dataclass

import pytest

from ferry.cli import build_parser, main
from ferry.cli_api import client_of as client_for
from ferry.client import DEFAULT_TOKEN, DEFAULT_URL, ApiError, FerryClient
from tests.support.pending import settled
from tests.support.target import Reply
from tests.support.waiting import wait_until

pytestmark = pytest.mark.integration
FERRY = pathlib.Path(sys.executable).parent / "ferry"


@dataclass(frozen=True)
class Run:
    code: int
    out: str
    err: str

    def json(self):
        return json.loads(self.out)

    @property
    def lines(self) -> list[str]:
        return self.out.splitlines()


@pytest.fixture
def ferry(stack, capsys):
    """`ferry --url <stack> --token <token> ARGS...`, in-process; returns the exit code and output."""

    def run(*argv: str, token: str | None = None) -> Run:
        capsys.readouterr()
        code = main(["--url", stack.url, "--token", token or stack.secrets.api_token, *argv])
        out, err = capsys.readouterr()
        return Run(code, out, err)

    return run


def states(services, message_id: str) -> list[str]:
    return [e.state for e in services.history.events(message_id)]


def publish(ferry, *argv: str) -> str:
    result = ferry("publish", *argv)
    assert result.code == 0, result.err
    [message_id] = result.lines
    assert message_id.startswith("msg_")
    return message_id


# --- publish and messages ------------------------------------------------------------------------


def test_publish_is_delivered_with_every_option(ferry, target, path, services):
    message_id = publish(
        ferry,
        target.url(path),
        "--body",
        '{"to": "ada@example.com"}',
        "--content-type",
        "application/json",
        "--method",
        "put",
        "--header",
        "X-Tenant: acme",
        "--header",
        "X-Empty:",
        "--retries",
        "1",
        "--retry-delay",
        "1000 * pow(2, retried)",
        "--timeout",
        "30",
        "--label",
        "billing",
        "--label",
        "eu",
    )
    [got] = target.wait_for(path)
    assert got.method == "PUT"
    assert got.body == b'{"to": "ada@example.com"}'
    assert got.header("Content-Type") == "application/json"
    assert got.header("X-Tenant") == "acme"
    assert got.header("Upstash-Message-Id") == message_id
    wait_until(lambda: "DELIVERED" in states(services, message_id), what="DELIVERED")

    shown = ferry("messages", "get", message_id)
    assert shown.code == 0, shown.err
    assert "messageId:" in shown.out and message_id in shown.out
    assert target.url(path) in shown.out
    assert "X-Tenant: acme" in shown.out
    assert "1000 * pow(2, retried)" in shown.out

    as_json = ferry("messages", "get", message_id, "--json").json()
    assert as_json["messageId"] == message_id
    assert as_json["method"] == "PUT"
    assert as_json["maxRetries"] == 1
    assert as_json["labels"] == ["billing", "eu"]
    assert as_json["header"]["X-Tenant"] == ["acme"]
    assert as_json["body"] == '{"to": "ada@example.com"}'


def test_publish_a_binary_body_file_with_a_delay_and_json_output(ferry, target, path, tmp_path):
    payload = bytes(range(256))
    (tmp_path / "body.bin").write_bytes(payload)
    result = ferry(
        "--json", "publish", target.url(path), "--body-file", str(tmp_path / "body.bin"), "--delay", "1s"
    )
    assert result.code == 0, result.err
    answer = result.json()
    assert answer["messageId"].startswith("msg_") and answer["url"] == target.url(path)
    [got] = target.wait_for(path, timeout=30)
    assert got.body == payload
    assert got.header("Content-Type") is None, "no content type given, none invented"


def test_publish_with_a_dedup_id_is_delivered_once(stack, ferry, target, path):
    first = publish(ferry, target.url(path), "--body", "once", "--dedup-id", path)
    again = ferry("publish", target.url(path), "--body", "once", "--dedup-id", path)
    assert again.code == 0 and again.lines == [first]
    assert "deduplicated" in again.err
    target.wait_for(path)
    assert len(settled(stack, target, path)) == 1


def test_publish_to_a_queue_uses_enqueue(ferry, target, path):
    message_id = publish(ferry, target.url(path), "--body", "queued", "--queue", "cli-queue")
    [got] = target.wait_for(path)
    assert got.body == b"queued"
    assert ferry("messages", "get", message_id, "--json").json()["queueName"] == "cli-queue"


def test_publish_with_not_before_and_callbacks(ferry, target, path):
    at = int(time.time()) + 2
    publish(
        ferry,
        target.url(path),
        "--body",
        "later",
        "--not-before",
        str(at),
        "--callback",
        target.url(path + "-callback"),
    )
    [got] = target.wait_for(path, timeout=30)
    assert got.at >= at - 1
    [callback] = target.wait_for(path + "-callback", timeout=30)
    assert json.loads(callback.body)["status"] == 200


def test_cancel_one_and_several_messages(ferry, target, path, services):
    ids = [publish(ferry, target.url(path), "--body", str(i), "--delay", "3s") for i in range(3)]
    one = ferry("messages", "cancel", ids[0])
    assert (one.code, one.out.strip()) == (0, "cancelled 1 message")
    several = ferry("messages", "cancel", ids[1], ids[2])
    assert (several.code, several.out.strip()) == (0, "cancelled 2 messages")
    for message_id in ids:
        wait_until(lambda m=message_id: "CANCELED" in states(services, m), timeout=20, what="CANCELED")
    assert target.requests_to(path) == []


def test_cancel_a_delivered_message_says_it_had_finished(ferry, target, path, services):
    message_id = publish(ferry, target.url(path), "--body", "x")
    target.wait_for(path)
    wait_until(lambda: "DELIVERED" in states(services, message_id), what="DELIVERED")
    again = ferry("messages", "cancel", message_id)
    assert (again.code, again.out.strip()) == (0, f"{message_id}: already finished, nothing to cancel")
    assert ferry("messages", "cancel", message_id, "--json").json() == {"cancelled": 0}
    unknown = ferry("messages", "cancel", "msg_doesnotexist")
    assert unknown.code == 1 and "HTTP 404" in unknown.err


def test_cancel_all(ferry, target, path, services):
    ids = [publish(ferry, target.url(path), "--body", str(i), "--delay", "3s") for i in range(2)]
    result = ferry("messages", "cancel", "--all")
    assert result.code == 0, result.err
    assert result.out.startswith("cancelled ")
    assert int(result.out.split()[1]) >= 2
    for message_id in ids:
        wait_until(lambda m=message_id: "CANCELED" in states(services, m), timeout=20, what="CANCELED")
    assert target.requests_to(path) == []


def test_messages_get_of_an_unknown_id_is_an_api_error(ferry):
    result = ferry("messages", "get", "msg_doesnotexist")
    assert result.code == 1
    assert "HTTP 404" in result.err and "not found" in result.err
    assert result.out == ""


# --- logs ----------------------------------------------------------------------------------------


def test_logs_show_the_states_of_a_delivered_message(ferry, target, path, services):
    message_id = publish(ferry, target.url(path), "--body", "x", "--label", "cli-logs")
    target.wait_for(path)
    wait_until(lambda: "DELIVERED" in states(services, message_id), what="DELIVERED")

    result = ferry("logs", "--message-id", message_id)
    assert result.code == 0, result.err
    lines = result.lines
    assert [line.split()[1] for line in lines] == ["DELIVERED", "ACTIVE", "CREATED"]
    assert all(message_id in line and target.url(path) in line for line in lines)
    assert lines[0].split()[-1] == "200"
    assert lines[0].split()[0].endswith("Z")

    delivered = ferry("logs", "--message-id", message_id, "--state", "delivered")
    assert [line.split()[1] for line in delivered.lines] == ["DELIVERED"]
    by_url = ferry("logs", "--url", target.url(path), "--label", "cli-logs", "--json").json()
    assert {e["state"] for e in by_url["events"]} == {"CREATED", "ACTIVE", "DELIVERED"}


def test_logs_all_pages_follows_the_cursor(ferry, target, path, services):
    message_id = publish(ferry, target.url(path), "--body", "x")
    target.wait_for(path)
    wait_until(lambda: "DELIVERED" in states(services, message_id), what="DELIVERED")
    first = ferry("logs", "--message-id", message_id, "--count", "1")
    assert first.code == 0
    if len(first.lines) < 3:  # a page never splits one millisecond, so it may hold more than one
        assert "--cursor" in first.err
    every = ferry("logs", "--message-id", message_id, "--count", "1", "--all-pages")
    assert sorted(line.split()[1] for line in every.lines) == ["ACTIVE", "CREATED", "DELIVERED"]
    as_json = ferry("--json", "logs", "--message-id", message_id, "--count", "1", "--all-pages").json()
    assert len(as_json["events"]) == 3 and "cursor" not in as_json


def test_logs_show_the_error_of_a_failed_attempt(ferry, target, path, services):
    message_id, dlq_id = failed_message(ferry, target, path, services)
    lines = ferry("logs", "--message-id", message_id).lines
    failed = next(line for line in lines if line.split()[1] == "FAILED")
    assert dlq_id in failed
    error = next(line for line in lines if line.split()[1] == "ERROR")
    assert "500" in error.split()[4:]


# --- dead-letter queue ---------------------------------------------------------------------------


def failed_message(ferry, target, path, services, body: str = "dead") -> tuple[str, str]:
    target.always(path, Reply(500, headers={"X-Why": "broken"}, body=b"server said no"))
    message_id = publish(ferry, target.url(path), "--body", body, "--retries", "0")
    failed = wait_until(
        lambda: [e for e in services.history.events(message_id) if e.state == "FAILED"], what="FAILED"
    )
    drop_sqs_dlq_copy(services, message_id)
    return message_id, failed[0].dlq_id


def drop_sqs_dlq_copy(services, message_id: str) -> None:
    """The dispatcher also leaves each dead letter in the SQS DLQ (for the console's redrive). The
    API commands never use that copy; delete it so the shared queue stays as short as the SQS-DLQ
    tests, which read it ten messages at a time, expect."""
    sqs, queue_url = services.sqs, services.settings.queue_dlq_url
    held: list[dict] = []
    deadline = time.time() + 20
    try:
        while time.time() < deadline:
            got = sqs.receive_message(
                QueueUrl=queue_url,
                MaxNumberOfMessages=10,
                VisibilityTimeout=30,
                MessageAttributeNames=["All"],
            ).get("Messages", [])
            for message in got:
                attributes = message.get("MessageAttributes", {})
                if attributes.get("ferry-message-id", {}).get("StringValue") == message_id:
                    sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
                    return
                held.append(message)
            if not got:
                time.sleep(0.1)
        raise AssertionError(f"the SQS DLQ copy of {message_id} never arrived")
    finally:
        for message in held:  # everything else goes back as it was, visible at once
            sqs.change_message_visibility(
                QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
            )


def test_dlq_list_get_retry(ferry, target, path, services):
    message_id, dlq_id = failed_message(ferry, target, path, services, body="again")

    listed = ferry("dlq", "list", "--url", target.url(path))
    assert listed.code == 0, listed.err
    [line] = listed.lines
    assert line.split()[0] == dlq_id and message_id in line and "500" in line.split()
    assert [
        m["dlqId"] for m in ferry("dlq", "list", "--url", target.url(path), "--json").json()["messages"]
    ] == [dlq_id]

    shown = ferry("dlq", "get", dlq_id)
    assert shown.code == 0, shown.err
    assert "server said no" in shown.out and "X-Why: broken" in shown.out and message_id in shown.out
    assert ferry("dlq", "get", dlq_id, "--json").json()["responseStatus"] == 500

    target.always(path, Reply(200))
    retried = ferry("dlq", "retry", dlq_id)
    assert retried.code == 0, retried.err
    [new_id] = retried.lines
    assert new_id.startswith("msg_") and new_id != message_id
    got = target.wait_for(path, count=2)
    assert got[-1].body == b"again" and got[-1].header("Upstash-Message-Id") == new_id
    wait_until(lambda: "DELIVERED" in states(services, new_id), what="DELIVERED")
    empty = ferry("dlq", "list", "--url", target.url(path))
    assert (empty.code, empty.out) == (0, "")
    assert "empty" in empty.err


def test_dlq_retry_several(ferry, target, path, services):
    dlq_ids = [failed_message(ferry, target, path, services, body=str(i))[1] for i in range(2)]
    target.always(path, Reply(200))
    result = ferry("--json", "dlq", "retry", *dlq_ids)
    assert result.code == 0, result.err
    assert len(result.json()["responses"]) == 2
    target.wait_for(path, count=4)


def test_dlq_delete_one_and_several(ferry, target, path, services):
    _, first = failed_message(ferry, target, path, services, body="1")
    deleted = ferry("dlq", "delete", first)
    assert (deleted.code, deleted.out.strip()) == (0, "deleted 1 DLQ entry")
    gone = ferry("dlq", "get", first)
    assert gone.code == 1 and "HTTP 404" in gone.err and "not found" in gone.err
    again = ferry("dlq", "delete", first)
    assert again.code == 1 and "HTTP 404" in again.err

    ids = [failed_message(ferry, target, path, services, body=str(i))[1] for i in range(2)]
    several = ferry("dlq", "delete", *ids)
    assert (several.code, several.out.strip()) == (0, "deleted 2 DLQ entries")
    partly = ferry("dlq", "delete", *ids)
    assert (partly.code, partly.out.strip()) == (0, "deleted 0 of 2 DLQ entries (the others were not found)")
    assert ferry("dlq", "list", "--url", target.url(path), "--json").json()["messages"] == []


# --- signing keys --------------------------------------------------------------------------------


def test_keys_get(ferry, stack):
    shown = ferry("keys", "get")
    assert shown.code == 0, shown.err
    assert shown.lines == [
        f"current: {stack.secrets.current_signing_key}",
        f"next:    {stack.secrets.next_signing_key}",
    ]
    assert ferry("keys", "get", "--json").json() == {
        "current": stack.secrets.current_signing_key,
        "next": stack.secrets.next_signing_key,
    }


def test_keys_rotate_makes_next_current_and_shows_the_new_pair(ferry, stack):
    from tests.integration.test_qstash_compatibility import services_keys

    before = (stack.secrets.current_signing_key, stack.secrets.next_signing_key)
    try:
        rotated = ferry("keys", "rotate", "--json")
        assert rotated.code == 0, rotated.err
        pair = rotated.json()
        assert pair["current"] == before[1] and pair["next"] not in before
        assert ferry("keys", "get", "--json").json() == pair
    finally:
        services_keys(stack)(*before)
    assert ferry("keys", "get", "--json").json() == {"current": before[0], "next": before[1]}


# --- errors and configuration --------------------------------------------------------------------


def test_a_wrong_token_exits_1_with_the_api_error_on_stderr(ferry):
    result = ferry("keys", "get", token="not-the-token")
    assert result.code == 1
    assert result.out == ""
    assert "HTTP 401" in result.err and "invalid token" in result.err


def test_a_refused_publish_exits_1_with_the_message_and_field(ferry, target, path):
    result = ferry("publish", target.url(path), "--retries", "lots")
    assert result.code == 2  # not a number: argparse refuses it before any request
    result = ferry("publish", target.url(path), "--delay", "soon")
    assert result.code == 1
    assert "HTTP 400" in result.err and '"soon" is not a duration' in result.err
    assert "field: Upstash-Delay" in result.err
    result = ferry("publish", "ftp://example.com/x", "--body", "x")
    assert result.code == 1
    assert "absolute http(s) URL" in result.err and "field: destination" in result.err


def test_an_unreachable_api_exits_1(capsys):
    from ferry.dev.emulator import free_port

    code = main(["--url", f"http://127.0.0.1:{free_port()}", "keys", "get"])
    assert code == 1
    assert "cannot reach the API" in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv",
    [
        ["publish"],
        ["nosuchcommand"],
        ["messages"],
        ["messages", "cancel"],
        ["messages", "cancel", "msg_1", "--all"],
        ["publish", "http://127.0.0.1:1/x", "--body", "a", "--body-file", "b"],
        ["publish", "http://127.0.0.1:1/x", "--header", "no colon"],
        ["publish", "http://127.0.0.1:1/x", "--body-file", "/nonexistent/body"],
        ["publish", "http://127.0.0.1:1/x", "--method", "FETCH"],
        ["schedules", "create", "http://127.0.0.1:1/x"],
        ["dlq", "retry"],
        ["dlq", "delete", ""],
        ["logs", "--count", "many"],
    ],
    ids=lambda argv: " ".join(argv),
)
def test_usage_errors_exit_2_before_any_request(argv, capsys):
    code = main(["--url", "http://127.0.0.1:1", *argv])
    captured = capsys.readouterr()
    assert code == 2
    assert "usage: ferry" in captured.err and "error:" in captured.err
    assert "cannot reach" not in captured.err


def test_help_exits_0(capsys):
    assert main(["--help"]) == 0
    assert "publish" in capsys.readouterr().out


def test_url_and_token_come_from_flags_then_ferry_then_qstash_env_then_dev_defaults(monkeypatch):
    for name in ("FERRY_URL", "FERRY_TOKEN", "QSTASH_URL", "QSTASH_TOKEN"):
        monkeypatch.delenv(name, raising=False)

    def resolved(*argv: str) -> tuple[str, str]:
        client = client_for(build_parser().parse_args([*argv, "keys", "get"]))
        return client.url, client.token

    assert resolved() == (DEFAULT_URL, DEFAULT_TOKEN)
    monkeypatch.setenv("QSTASH_URL", "https://qstash.example/")
    monkeypatch.setenv("QSTASH_TOKEN", "q-token")
    assert resolved() == ("https://qstash.example", "q-token")
    monkeypatch.setenv("FERRY_URL", "https://ferry.example")
    monkeypatch.setenv("FERRY_TOKEN", "f-token")
    assert resolved() == ("https://ferry.example", "f-token")
    assert resolved("--url", "http://flag", "--token", "t") == ("http://flag", "t")


def test_env_configuration_reaches_the_stack(stack, monkeypatch, capsys):
    monkeypatch.delenv("FERRY_URL", raising=False)
    monkeypatch.delenv("FERRY_TOKEN", raising=False)
    monkeypatch.setenv("QSTASH_URL", stack.url)
    monkeypatch.setenv("QSTASH_TOKEN", stack.secrets.api_token)
    assert main(["keys", "get", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["current"] == stack.secrets.current_signing_key


def test_installed_entry_point_runs():
    result = subprocess.run([str(FERRY), "--help"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    for command in ("dev", "publish", "messages", "logs", "dlq", "keys", "schedules"):
        assert command in result.stdout
    usage = subprocess.run([str(FERRY), "messages", "cancel"], capture_output=True, text=True, timeout=60)
    assert usage.returncode == 2 and "message ids" in usage.stderr


# --- schedules -----------------------------------------------------------------------------------


@pytest.fixture
def schedule_ids(stack):
    created: list[str] = []
    yield created
    client = FerryClient(stack.url, stack.secrets.api_token)
    for schedule_id in created:
        with contextlib.suppress(ApiError):
            client.delete_schedule(schedule_id)


def test_schedules_create_get_list_pause_resume_delete(ferry, target, path, schedule_ids):
    created = ferry(
        "schedules",
        "create",
        target.url(path),
        "--cron",
        "0 3 1 1 *",
        "--body",
        "report",
        "--content-type",
        "text/plain",
        "--header",
        "X-Kind: yearly",
        "--retries",
        "2",
        "--delay",
        "10s",
        "--timeout",
        "20s",
        "--label",
        "reports",
        "--callback",
        target.url(path + "-callback"),
        "--failure-callback",
        target.url(path + "-failure"),
    )
    assert created.code == 0, created.err
    [schedule_id] = created.lines
    schedule_ids.append(schedule_id)
    assert schedule_id.startswith("scd_")

    shown = ferry("schedules", "get", schedule_id, "--json").json()
    assert shown["scheduleId"] == schedule_id
    assert shown["cron"] == "0 3 1 1 *"
    assert shown["destination"] == target.url(path)
    assert shown["body"] == "report" and shown["retries"] == 2 and shown["delay"] == 10
    assert shown["header"]["X-Kind"] == ["yearly"]
    assert shown["callback"] == target.url(path + "-callback")
    assert shown["failureCallback"] == target.url(path + "-failure")
    assert shown["isPaused"] is False
    human = ferry("schedules", "get", schedule_id)
    assert "0 3 1 1 *" in human.out and "X-Kind: yearly" in human.out

    listed = ferry("schedules", "list")
    [line] = [line for line in listed.lines if line.startswith(schedule_id)]
    assert "active" in line.split() and target.url(path) in line
    assert schedule_id in [s["scheduleId"] for s in ferry("schedules", "list", "--json").json()]

    assert ferry("schedules", "pause", schedule_id).out.strip() == f"paused {schedule_id}"
    assert ferry("schedules", "get", schedule_id, "--json").json()["isPaused"] is True
    [paused] = [line for line in ferry("schedules", "list").lines if line.startswith(schedule_id)]
    assert "paused" in paused.split()
    assert ferry("schedules", "resume", schedule_id).out.strip() == f"resumed {schedule_id}"
    assert ferry("schedules", "get", schedule_id, "--json").json()["isPaused"] is False

    assert ferry("schedules", "delete", schedule_id).out.strip() == f"deleted {schedule_id}"
    gone = ferry("schedules", "get", schedule_id)
    assert gone.code == 1 and "HTTP 404" in gone.err


def test_schedules_create_with_an_id_and_a_queue_replaces(ferry, target, path, schedule_ids):
    schedule_id = "cli-" + path.strip("/")[:40]
    schedule_ids.append(schedule_id)
    first = ferry(
        "--json",
        "schedules",
        "create",
        target.url(path),
        "--cron",
        "*/5 * * * *",
        "--schedule-id",
        schedule_id,
        "--queue",
        "cli-schedule-queue",
        "--body",
        "v1",
    )
    assert first.code == 0, first.err
    assert first.json() == {"scheduleId": schedule_id}
    shown = ferry("schedules", "get", schedule_id, "--json").json()
    assert shown["queueName"] == "cli-schedule-queue" and shown["body"] == "v1"

    replaced = ferry(
        "schedules", "create", target.url(path), "--cron", "0 4 * * *", "--schedule-id", schedule_id
    )
    assert replaced.lines == [schedule_id]
    shown = ferry("schedules", "get", schedule_id, "--json").json()
    assert shown["cron"] == "0 4 * * *" and "body" not in shown


def test_schedules_create_refuses_a_bad_cron_with_the_api_message(ferry, target, path, schedule_ids):
    result = ferry("schedules", "create", target.url(path), "--cron", "not a cron")
    assert result.code == 1
    assert "HTTP 400" in result.err and "cron" in result.err.lower()
