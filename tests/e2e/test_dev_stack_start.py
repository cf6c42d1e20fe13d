"""A `ferry dev` stack that fails to start leaves nothing running in the process, and a running
one keeps its startup heap out of full collections. (Here, not in tests/integration: that
package keeps a stack running for its whole session, and only one emulator may run in a
process.)"""

from __future__ import annotations

import gc
import socket

import pytest

from ferry.dev.emulator import Emulator, EmulatorAlreadyRunning
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


def test_the_startup_heap_is_kept_out_of_full_collections_while_the_stack_runs():
    if Emulator._running is not None:
        pytest.skip("a stack of another package runs in this process (pytest given tests/integration first)")
    assert gc.get_freeze_count() == 0
    with DevStack(port=0, poller_concurrency=0):
        # botocore's and moto's models alone are hundreds of thousands of objects.
        assert gc.get_freeze_count() > 100_000
    assert gc.get_freeze_count() == 0  # handed back to the collector when the stack stops


def test_a_stack_refused_beside_a_running_one_leaves_the_running_ones_heap_frozen():
    if Emulator._running is not None:
        pytest.skip("a stack of another package runs in this process (pytest given tests/integration first)")
    with DevStack(port=0, poller_concurrency=0):
        frozen = gc.get_freeze_count()
        with pytest.raises(EmulatorAlreadyRunning):
            DevStack(port=0, poller_concurrency=0).start()
        assert gc.get_freeze_count() == frozen
