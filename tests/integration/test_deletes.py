"""Every delete, for something that does not exist, answers as the "Deletes" table of
docs/compatibility.md says (checked there against the QStash reference): idempotent where QStash
is (the official suite deletes a URL group before creating it), 404 where the reference says so."""

from __future__ import annotations

import pytest

from tests.support.stack_api import api

pytestmark = pytest.mark.integration

_ENDPOINTS = {"endpoints": [{"url": "http://127.0.0.1:9/x"}]}


def _delete(stack, path: str, body: object | None = None) -> tuple[int, object]:
    return api(stack, "DELETE", path, body)


@pytest.mark.parametrize(
    ("path", "body", "status", "answer"),
    [
        ("/v2/topics/never-existed-group", None, 200, {}),
        ("/v2/schedules/scd_never_existed", None, 200, {}),
        ("/v2/queues/never-existed-queue", None, 200, {}),
        ("/v2/messages/msg_00000000000000000000000000000000", None, 404, None),
        ("/v2/dlq/dlq_000000000000000000000000", None, 404, None),
        ("/v2/topics/never-existed-group/endpoints", _ENDPOINTS, 404, None),
        ("/v2/messages", {"messageIds": ["msg_00000000000000000000000000000000"]}, 200, {"cancelled": 0}),
        ("/v2/dlq", {"dlqIds": ["dlq_000000000000000000000000"]}, 200, {"deleted": 0}),
    ],
    ids=lambda value: value if isinstance(value, str) else None,
)
def test_a_delete_of_something_that_does_not_exist_answers_as_qstash_does(stack, path, body, status, answer):
    got_status, got = _delete(stack, path, body)
    assert got_status == status, got
    if answer is not None:
        assert got == answer
    if status == 404:
        assert isinstance(got, dict) and got.get("error"), "a 404 says what was not found"


def test_deleting_twice_is_the_same_as_deleting_once(stack, qstash, target, path):
    name = "twice-" + path.strip("/")[-40:]
    schedule_id = qstash.schedule.create(destination=target.url(path), cron="0 0 1 1 *", body="x")
    qstash.url_group.upsert_endpoints(url_group=name, endpoints=[{"url": target.url(path)}])
    qstash.queue.upsert(name, parallelism=1)
    for resource in (f"/v2/schedules/{schedule_id}", f"/v2/topics/{name}", f"/v2/queues/{name}"):
        assert _delete(stack, resource) == (200, {})
        assert _delete(stack, resource) == (200, {})
    assert schedule_id not in [s.schedule_id for s in qstash.schedule.list()]
    assert name not in [g.name for g in qstash.url_group.list()]
    assert name not in [q.name for q in qstash.queue.list()]
