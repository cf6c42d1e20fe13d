"""`ferry dev`'s emulator for a benchmark's child process: the in-process moto backends served on
a loopback port by moto's own server (which shares them), so a separate Python process can play
a Lambda execution environment against the same queues, table and secrets. Benchmarks only:
`ferry dev` itself never listens for AWS calls (issue 9, item 11)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def emulator_endpoint() -> Iterator[str]:
    """The endpoint URL (`AWS_ENDPOINT_URL` for the child) while the server runs."""
    from moto.server import ThreadedMotoServer

    from ferry.dev.emulator import free_port

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per request otherwise
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()
