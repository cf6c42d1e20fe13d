"""A `ferry dev` stack that fails to start leaves nothing running in the process. (Here, not in
tests/integration: that package keeps a stack running for its whole session, and only one
emulator may run in a process.)"""

from __future__ import annotations

import socket

import pytest

from ferry.dev.emulator import Emulator
from ferry.dev.stack import DevStack


def test_a_stack_whose_gateway_cannot_listen_stops_its_emulator_so_the_next_stack_starts():
    if Emulator._running is not None:
        pytest.skip("a stack of another package runs in this process (pytest given tests/integration first)")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(OSError):
            DevStack(port=port, poller_concurrency=0).start()
    assert Emulator._running is None
    with DevStack(port=0, poller_concurrency=0) as stack:
        assert stack.url.startswith("http://127.0.0.1:")
