"""URL groups through the official qstash SDK: manage endpoints, fan-out publish, batch and schedules."""

from __future__ import annotations

import contextlib

import pytest
from qstash.errors import QStashError

from tests.support.waiting import wait_until

pytestmark = pytest.mark.integration


def _group(path: str) -> str:
    return "group-" + path.strip("/")[-40:]


def test_url_group_endpoints_can_be_upserted_listed_removed_and_deleted(stack, target, path, qstash):
    name = _group(path)
    qstash.url_group.upsert_endpoints(
        url_group=name,
        endpoints=[{"url": target.url(path + "-a"), "name": "a"}, {"url": target.url(path + "-b")}],
    )
    group = qstash.url_group.get(name)
    assert [e.url for e in group.endpoints] == [target.url(path + "-a"), target.url(path + "-b")]
    assert group.endpoints[0].name == "a"
    assert name in [g.name for g in qstash.url_group.list()]

    qstash.url_group.remove_endpoints(url_group=name, endpoints=[{"name": "a"}])
    assert [e.url for e in qstash.url_group.get(name).endpoints] == [target.url(path + "-b")]
    qstash.url_group.remove_endpoints(url_group=name, endpoints=[{"url": target.url(path + "-b")}])
    with pytest.raises(QStashError, match="404"):
        qstash.url_group.get(name)  # the last endpoint gone, the group is gone

    qstash.url_group.upsert_endpoints(url_group=name, endpoints=[{"url": target.url(path)}])
    qstash.url_group.delete(name)
    with pytest.raises(QStashError, match="404"):
        qstash.url_group.get(name)
    qstash.url_group.delete(name)  # idempotent, as QStash answers: 200 for a group that is gone


def test_deleting_a_url_group_that_never_existed_is_200(stack, path, qstash):
    qstash.url_group.delete(_group(path) + "-never")


def test_a_schedule_for_an_unknown_url_group_is_404_like_publishing_to_it(stack, path, qstash):
    name = _group(path) + "-missing"
    with pytest.raises(QStashError, match="404"):
        qstash.message.publish(url_group=name, body="x")
    with pytest.raises(QStashError, match="404"):
        qstash.schedule.create(destination=name, cron="* * * * *", body="x")
    assert all(s.destination != name for s in qstash.schedule.list())


def test_publish_to_a_url_group_fans_out_one_message_per_endpoint(stack, target, path, qstash, services):
    name = _group(path)
    qstash.url_group.upsert_endpoints(
        url_group=name,
        endpoints=[{"url": target.url(path + "-a"), "name": "a"}, {"url": target.url(path + "-b")}],
    )
    responses = qstash.message.publish(url_group=name, body="to all")
    assert {r.url for r in responses} == {target.url(path + "-a"), target.url(path + "-b")}
    assert len({r.message_id for r in responses}) == 2
    [a] = target.wait_for(path + "-a")
    [b] = target.wait_for(path + "-b")
    assert a.body == b.body == b"to all"
    assert a.header("Upstash-Topic-Name") == b.header("Upstash-Topic-Name") == name
    message = qstash.message.get(responses[0].message_id)
    assert message.url_group == name
    logs = qstash.log.list(filter={"url_group": name}).logs
    assert {log.message_id for log in logs} == {r.message_id for r in responses}


def test_batch_item_to_a_url_group_and_unknown_group(stack, target, path, qstash):
    name = _group(path)
    qstash.url_group.upsert_endpoints(url_group=name, endpoints=[{"url": target.url(path)}])
    [responses] = qstash.message.batch([{"url_group": name, "body": "batched"}])
    assert [r.url for r in responses] == [target.url(path)]
    target.wait_for(path)
    with pytest.raises(QStashError, match="404"):
        qstash.message.publish(url_group="no-such-group-" + name, body="x")


def test_schedule_for_a_url_group_fires_to_every_endpoint(stack, target, path, qstash, clock, services):
    from tests.integration.test_schedules import just_before_a_minute

    name = _group(path)
    qstash.url_group.upsert_endpoints(
        url_group=name, endpoints=[{"url": target.url(path + "-a")}, {"url": target.url(path + "-b")}]
    )
    schedule_id = qstash.schedule.create(destination=name, cron="* * * * *", body="tick")
    try:
        assert qstash.schedule.get(schedule_id).destination == name
        with clock.advanced(just_before_a_minute(clock)):
            [a] = target.wait_for(path + "-a", timeout=20)
            [b] = target.wait_for(path + "-b", timeout=20)
            qstash.schedule.delete(schedule_id)
            wait_until(
                lambda: all(
                    "DELIVERED" in [e.state for e in services.history.events(r.header("Upstash-Message-Id"))]
                    for r in (a, b)
                ),
                what="both firings delivered",
            )
    finally:
        with contextlib.suppress(QStashError):
            qstash.schedule.delete(schedule_id)
    assert a.header("Upstash-Schedule-Id") == b.header("Upstash-Schedule-Id") == schedule_id
    assert a.header("Upstash-Topic-Name") == name
    assert a.header("Upstash-Message-Id") != b.header("Upstash-Message-Id")
