"""The HTTP adapter on loopback: SSRF refusals before connecting, one deadline per attempt."""

from __future__ import annotations

import socket
import threading
import time

import pytest

from ferry.adapters.http_target import UrllibTarget
from ferry.domain.delivery import DeliveryRequest
from ferry.domain.destination import forbidden_address


def request(url: str, timeout: float = 5) -> DeliveryRequest:
    return DeliveryRequest(method="POST", url=url, headers={}, body=b"x", timeout_seconds=timeout)


@pytest.mark.parametrize("resolved", [["10.0.0.7"], ["8.8.8.8", "169.254.169.254"], []])
def test_a_name_resolving_to_any_private_address_is_refused_without_connecting(resolved):
    target = UrllibTarget(allow_private=False, resolver=lambda host, port: resolved)
    result = target.send(request("https://looks-public.example/hook"))
    assert result.status is None
    assert "SSRF protection" in result.error


@pytest.mark.parametrize(
    "address",
    [
        "::ffff:169.254.169.254",  # IPv4-mapped
        "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254
        "2002:a9fe:a9fe::1",  # 6to4 of 169.254.169.254
        "::a9fe:a9fe",  # IPv4-compatible
        "2001:0:4136:e378:8000:63bf:f5fe:fffe",  # Teredo whose client address is 10.1.0.1
        "64:ff9b:1::a9fe:a9fe",  # local-use NAT64 (RFC 8215)
        "fd00::1",
        "::1",
    ],
)
def test_ipv6_forms_of_internal_addresses_are_forbidden(address):
    assert forbidden_address(address)


def test_public_ipv6_is_allowed():
    assert not forbidden_address("2606:4700:4700::1111")


def test_a_destination_that_trickles_its_body_times_out_at_the_attempt_deadline():
    """Each byte arrives well within the per-read timeout; only the attempt deadline stops it."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    port = server.getsockname()[1]
    stop = threading.Event()
    sent = [0]

    def trickle() -> None:
        conn, _ = server.accept()
        conn.recv(65536)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n")
        while not stop.is_set() and sent[0] < 1000:
            try:
                conn.sendall(b"x")
            except OSError:
                break
            sent[0] += 1
            time.sleep(0.1)
        conn.close()

    threading.Thread(target=trickle, daemon=True).start()
    result = UrllibTarget(allow_private=True).send(request(f"http://127.0.0.1:{port}/slow", timeout=1))
    sent_when_done = sent[0]
    stop.set()
    server.close()
    assert result.error == "timed out after 1s"
    assert sent_when_done < 100, "the attempt ended long before the whole body had trickled in"


def test_addresses_keep_the_resolver_order_with_ipv4_first(monkeypatch):
    from ferry.adapters import http_target

    answers = [
        (socket.AF_INET6, socket.SOCK_STREAM, 6, "", ("2606:4700::1", 443, 0, 0)),
        (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("203.0.113.9", 443)),
        (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("198.51.100.7", 443)),
        (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("203.0.113.9", 443)),
    ]
    monkeypatch.setattr(http_target.socket, "getaddrinfo", lambda *args, **kwargs: answers)
    assert http_target.resolve("example.com", 443) == ["203.0.113.9", "198.51.100.7", "2606:4700::1"]


def test_a_refused_address_falls_back_to_the_next_checked_one_keeping_the_host_name():
    from tests.support.target import Reply, Target

    server = Target()
    try:
        server.always("/hook", Reply(200, body=b"ok"))
        port = int(server.url("/hook").rsplit(":", 1)[1].split("/")[0])
        # 127.0.0.2 is loopback too, but nothing listens there: the connection is refused.
        target = UrllibTarget(
            allow_private=False,
            resolver=lambda host, port: ["127.0.0.2", "127.0.0.1"],
            forbidden=lambda address: False,
        )
        result = target.send(request(f"http://looks-public.example:{port}/hook"))
        assert result.status == 200 and result.body == b"ok"
        # (The target records a request just after answering it.)
        [got] = server.wait_for("/hook")
        assert got.header("Host") == f"looks-public.example:{port}"
    finally:
        server.stop()


def test_more_concurrent_deliveries_to_one_host_than_pooled_connections_all_succeed():
    """A response read to its end goes back to the pool, which closes it when full: the deadline
    handling must not touch that socket again (it failed with EBADF at 11+ deliveries at once)."""
    from concurrent.futures import ThreadPoolExecutor

    from tests.support.target import Reply, Target

    target = Target()
    try:
        target.always("/slow", Reply(200, delay=0.3))
        sender = UrllibTarget(allow_private=True, connections_per_host=2)
        with ThreadPoolExecutor(max_workers=12) as pool:
            results = list(pool.map(lambda _: sender.send(request(target.url("/slow"))), range(12)))
    finally:
        target.stop()
    assert [(r.status, r.error) for r in results] == [(200, None)] * 12
