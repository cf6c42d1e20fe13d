"""The contracts of the small ports (dedup claims, keys, URL groups, long delays): in-memory twin
and AWS adapter (on moto) alike."""

from __future__ import annotations

import uuid

import pytest

from ferry.adapters.memory.clock import ManualClock
from ferry.config import Env
from ferry.domain.envelope import Envelope
from ferry.domain.url_groups import Endpoint, UrlGroup


@pytest.fixture
def dedup(kind: str, clock: ManualClock, request: pytest.FixtureRequest):
    if kind == "memory":
        from ferry.adapters.memory.dedup import InMemoryDedup

        return InMemoryDedup(clock)
    from ferry.adapters.dynamo_dedup import DynamoDedup

    aws = request.getfixturevalue("aws")
    return DynamoDedup(aws.dynamodb, table_name=aws.environ[Env.TABLE_NAME], clock=clock)


def test_a_dedup_key_is_claimed_once_until_it_expires(dedup, clock):
    key, expires = "id:" + uuid.uuid4().hex, int(clock.now()) + 600
    assert dedup.claim(key, "msg_a", expires_at=expires) is None
    assert dedup.claim(key, "msg_b", expires_at=expires) == "msg_a"
    clock.advance(601)
    assert dedup.claim(key, "msg_c", expires_at=int(clock.now()) + 600) is None


def test_a_dedup_claim_is_released_only_by_its_owner(dedup, clock):
    key, expires = "id:" + uuid.uuid4().hex, int(clock.now()) + 600
    dedup.claim(key, "msg_a", expires_at=expires)
    dedup.release(key, "msg_other")
    assert dedup.claim(key, "msg_b", expires_at=expires) == "msg_a"
    dedup.release(key, "msg_a")
    assert dedup.claim(key, "msg_b", expires_at=expires) is None


def test_a_very_long_dedup_key_still_claims(dedup, clock):
    key = "id:" + "k" * 3_000
    assert dedup.claim(key, "msg_a", expires_at=int(clock.now()) + 600) is None
    assert dedup.claim(key, "msg_b", expires_at=int(clock.now()) + 600) == "msg_a"


@pytest.fixture
def keys(kind: str, request: pytest.FixtureRequest):
    from ferry.dev.resources import DevSecrets

    secrets = DevSecrets()
    if kind == "memory":
        from ferry.adapters.memory.keys import InMemoryKeys

        yield InMemoryKeys(
            current=secrets.current_signing_key, next=secrets.next_signing_key, api_token=secrets.api_token
        )
        return
    from ferry.adapters.secret_keys import SecretKeys

    aws = request.getfixturevalue("aws")
    env = aws.environ
    keys = SecretKeys(
        aws.secretsmanager,
        api_token_secret=env[Env.API_TOKEN_SECRET],
        current_secret=env[Env.SIGNING_KEY_CURRENT_SECRET],
        next_secret=env[Env.SIGNING_KEY_NEXT_SECRET],
        max_age=0,
    )
    yield keys
    # Shared secrets: put the dev pair back for the next test.
    aws.secretsmanager.put_secret_value(
        SecretId=env[Env.SIGNING_KEY_CURRENT_SECRET], SecretString=secrets.current_signing_key
    )
    aws.secretsmanager.put_secret_value(
        SecretId=env[Env.SIGNING_KEY_NEXT_SECRET], SecretString=secrets.next_signing_key
    )


def test_rotating_keys_promotes_next_to_current(keys):
    current, upcoming = keys.current(), keys.next()
    assert current != upcoming
    assert keys.rotate("sig_brandnew") == (upcoming, "sig_brandnew")
    assert (keys.current(), keys.next()) == (upcoming, "sig_brandnew")


def test_only_the_api_token_is_valid(keys):
    from ferry.dev.resources import DevSecrets

    assert keys.is_valid(DevSecrets().api_token)
    assert not keys.is_valid("")
    assert not keys.is_valid(DevSecrets().api_token + "x")


@pytest.fixture
def url_groups(kind: str, request: pytest.FixtureRequest):
    if kind == "memory":
        from ferry.adapters.memory.url_groups import InMemoryUrlGroups

        return InMemoryUrlGroups()
    from ferry.adapters.url_groups import DynamoUrlGroups

    aws = request.getfixturevalue("aws")
    return DynamoUrlGroups(aws.dynamodb, table_name=aws.environ[Env.TABLE_NAME])


def test_a_url_group_is_stored_listed_and_deleted(url_groups):
    name = "g-" + uuid.uuid4().hex[:8]
    group = UrlGroup(
        name=name,
        endpoints=(
            Endpoint(url="https://a.example/x", name="a"),
            Endpoint(url="https://b.example/y", name=None),
        ),
        created_at_ms=1,
        updated_at_ms=2,
    )
    assert url_groups.get(name) is None
    url_groups.put(group)
    assert url_groups.get(name) == group
    assert group in url_groups.list()
    assert url_groups.delete(name) is True
    assert url_groups.delete(name) is False
    assert url_groups.get(name) is None


@pytest.fixture
def delays(kind: str, request: pytest.FixtureRequest):
    if kind == "memory":
        from ferry.adapters.memory.delays import InMemoryDelays

        twin = InMemoryDelays()
        return twin, lambda: set(twin.scheduled)
    from ferry.adapters.scheduler import SchedulerDelays

    aws = request.getfixturevalue("aws")
    env = aws.environ
    group = env[Env.DELAY_SCHEDULE_GROUP]
    adapter = SchedulerDelays(
        aws.scheduler,
        group=group,
        role_arn=env[Env.SCHEDULER_ROLE_ARN],
        queue_arn=env[Env.QUEUE_ARN],
        dlq_arn=env[Env.SCHEDULER_DLQ_ARN],
    )
    return adapter, lambda: {s["Name"] for s in aws.scheduler.list_schedules(GroupName=group)["Schedules"]}


def _delayed(body: str = "later") -> Envelope:
    return Envelope(
        id="msg_" + uuid.uuid4().hex, destination="https://x.example/", created_at=0,
        not_before=4_000_000_000_000, max_retries=3, timeout=30, body=body,
    )  # fmt: skip


def test_a_long_delay_is_held_once_per_message(delays):
    adapter, scheduled = delays
    envelope = _delayed()
    assert adapter.fits(envelope)
    adapter.schedule(envelope)
    adapter.schedule(envelope)  # a retried create
    assert envelope.id in scheduled()


def test_an_envelope_too_big_for_a_schedule_does_not_fit(delays):
    adapter, _ = delays
    assert not adapter.fits(_delayed(body="x" * 300_000))
