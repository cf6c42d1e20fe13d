"""The embedded AWS emulator: moto server in this process, on loopback only."""

from __future__ import annotations

import json
import logging
import socket
import urllib.request

DEV_REGION = "us-east-1"
DEV_ACCESS_KEY = "ferry-dev"
DEV_SECRET_KEY = "ferry-dev"


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


class Emulator:
    """moto's ThreadedMotoServer with Step Functions execution enabled (for workflows)."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self.port = port or free_port(host)
        self._server = None

    @property
    def endpoint_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> None:
        from moto.server import ThreadedMotoServer

        # moto's werkzeug server logs every AWS call; the dev console should show Ferry's output.
        logging.getLogger("werkzeug").setLevel(logging.ERROR)

        self._server = ThreadedMotoServer(ip_address=self.host, port=self.port, verbose=False)
        self._server.start()
        # moto keeps its state per process: start from an empty account even when an earlier
        # emulator ran in this process (tests, benchmarks).
        reset = urllib.request.Request(self.endpoint_url + "/moto-api/reset", data=b"", method="POST")
        urllib.request.urlopen(reset, timeout=10).read()
        request = urllib.request.Request(
            self.endpoint_url + "/moto-api/config",
            data=json.dumps({"stepfunctions": {"execute_state_machine": True}}).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        urllib.request.urlopen(request, timeout=10).read()

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None

    def environ(self) -> dict[str, str]:
        """Variables that point boto3 (and so every adapter) at the emulator."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint_url,
            "AWS_ACCESS_KEY_ID": DEV_ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": DEV_SECRET_KEY,
            "AWS_DEFAULT_REGION": DEV_REGION,
            "AWS_REGION": DEV_REGION,
            # moto's Step Functions interpreter makes its service calls (the run driver's SQS
            # sends) to localhost:$MOTO_PORT, not to AWS_ENDPOINT_URL.
            "MOTO_PORT": str(self.port),
        }
