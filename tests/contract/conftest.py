"""Contract fixtures: each port's adapters, in-memory twin and AWS adapter (on moto in-process,
`mock_aws`), behind one fixture parametrized by kind, so one suite runs against both.
`make test-fast` runs only the in-memory side (`-m "not adapter"`)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from ferry.adapters.memory.clock import ManualClock
from ferry.config import Env, FerryConfig, Names

KINDS = ["memory", pytest.param("moto", marks=pytest.mark.adapter)]
# Names of their own: `ferry dev`'s emulator runs moto in this process too (integration tests),
# and nested `mock_aws` contexts share one set of backends.
CONFIG = FerryConfig(names=Names(prefix="ferry-contract"))


@dataclass
class Aws:
    clients: dict[str, Any]
    environ: dict[str, str]

    def __getattr__(self, name: str) -> Any:
        try:
            return self.clients[name]
        except KeyError:
            raise AttributeError(name) from None


@pytest.fixture(scope="package")
def aws() -> Iterator[Aws]:
    """The resources `ferry dev` provisions, created in moto in-process (no socket, no network).
    Package-scoped: moto's in-process mock is one per process, and `ferry dev`'s emulator (the
    integration tests' stack) must start from an empty account after this suite; the names of
    their own (CONFIG) keep the two apart when both run at once."""
    import boto3
    from moto import mock_aws

    from ferry.dev.emulator import MOTO_CONFIG
    from ferry.dev.resources import DevSecrets, provision

    fake = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    saved = {k: os.environ.get(k) for k in [*fake, "AWS_ENDPOINT_URL", "AWS_PROFILE"]}
    os.environ.update(fake)
    os.environ.pop("AWS_ENDPOINT_URL", None)
    os.environ.pop("AWS_PROFILE", None)
    try:
        # `ferry dev`'s moto config: Step Functions executes the run driver (its waitForTaskToken
        # states put their task messages on the queue), as the run driver contract needs.
        with mock_aws(config=MOTO_CONFIG):
            session = boto3.session.Session(region_name="us-east-1")
            environ = provision(session, config=CONFIG, secrets=DevSecrets())
            clients = {
                name: session.client(name)
                for name in ("sqs", "dynamodb", "secretsmanager", "scheduler", "stepfunctions")
            }
            yield Aws(clients, environ)
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@pytest.fixture(params=KINDS)
def kind(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def table_name(aws: Aws) -> str:
    return aws.environ[Env.TABLE_NAME]
