"""The embedded AWS emulator: moto inside this process, with no listening socket.

`moto.mock_aws` answers every boto3 call of the process from its in-memory backends before the
request leaves it, so there is nothing to connect to: no `/moto-api/data.json` dump of all state,
no GetSecretValue for whoever reaches a port (issue 9, item 11). The only door into `ferry dev`
is its gateway, behind the API token. It is also the faster path: no HTTP hop per AWS call.

Step Functions executions really run (the workflows feature builds on them).
"""

from __future__ import annotations

import os
import socket
from typing import Any

DEV_REGION = "us-east-1"
DEV_ACCESS_KEY = "ferry-dev"
DEV_SECRET_KEY = "ferry-dev"
MOTO_CONFIG = {"stepfunctions": {"execute_state_machine": True}}


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def _redirecting_variables() -> list[str]:
    """Variables that would send boto3 past the in-process emulator (to another endpoint or a
    real account): a user's shell may hold them."""
    return [
        name
        for name in os.environ
        if name.startswith("AWS_ENDPOINT_URL") or name in ("AWS_PROFILE", "AWS_SESSION_TOKEN")
    ]


class Emulator:
    def __init__(self) -> None:
        self._mock: Any = None

    def start(self) -> None:
        from moto import mock_aws

        for name in _redirecting_variables():
            del os.environ[name]
        self._mock = mock_aws(config=MOTO_CONFIG)
        # reset: an empty account even when an earlier emulator ran in this process (tests).
        self._mock.start(reset=True)

    def stop(self) -> None:
        if self._mock is not None:
            self._mock.stop()
            self._mock = None

    def environ(self) -> dict[str, str]:
        """Variables for boto3 (and so every adapter): fixed dev credentials and region."""
        return {
            "AWS_ACCESS_KEY_ID": DEV_ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": DEV_SECRET_KEY,
            "AWS_DEFAULT_REGION": DEV_REGION,
            "AWS_REGION": DEV_REGION,
        }
