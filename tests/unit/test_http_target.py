"""The HTTP adapter on loopback: SSRF refusals before connecting, one deadline per attempt."""

from __future__ import annotations

import socket
import threading
import time

import pytest

from ferry.adapters.http_target import HttpClientTarget
from ferry.domain.delivery import DeliveryRequest
from ferry.domain.destination import forbidden_address


def request(url: str, timeout: float = 5) -> DeliveryRequest:
    return DeliveryRequest(method="POST", url=url, headers={}, body=b"x", timeout_seconds=timeout)


@pytest.mark.parametrize("resolved", [["10.0.0.7"], ["8.8.8.8", "169.254.169.254"], []])
def test_a_name_resolving_to_any_private_address_is_refused_without_connecting(resolved):
    target = HttpClientTarget(allow_private=False, resolver=lambda host, port: resolved)
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


@pytest.mark.parametrize("url", ["http://127.0.0.1:99999/", "http://127.0.0.1:abc/", "http://[::1/x"])
def test_a_url_that_cannot_be_parsed_is_an_unsendable_attempt_not_an_error(url):
    # Publish refuses such URLs; a message stored otherwise must not fail its whole batch.
    result = HttpClientTarget(allow_private=True).send(request(url))
    assert (result.status, result.unsendable) == (None, True)
    assert "invalid destination URL" in (result.error or "")


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
    result = HttpClientTarget(allow_private=True).send(request(f"http://127.0.0.1:{port}/slow", timeout=1))
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
        target = HttpClientTarget(
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
        sender = HttpClientTarget(allow_private=True, connections_per_host=2)
        with ThreadPoolExecutor(max_workers=12) as pool:
            results = list(pool.map(lambda _: sender.send(request(target.url("/slow"))), range(12)))
    finally:
        target.stop()
    assert [(r.status, r.error) for r in results] == [(200, None)] * 12


def _serve_raw(answer) -> tuple[int, threading.Event]:
    """A one-connection server on 127.0.0.1 that hands its accepted socket to `answer`."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(4)
    done = threading.Event()

    def run() -> None:
        with server:
            conn, _ = server.accept()
            with conn:
                answer(conn)
        done.set()

    threading.Thread(target=run, daemon=True).start()
    return server.getsockname()[1], done


def _read_request(conn: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        data += conn.recv(65536)
    head, _, rest = data.partition(b"\r\n\r\n")
    fields = dict(line.lower().split(b": ", 1) for line in head.split(b"\r\n")[1:])
    length = int(fields.get(b"content-length", 0))
    while len(rest) < length:
        rest += conn.recv(65536)
    return head


def _one_after_another(count: int):
    """`count` deliveries in a row to one host; their results and the client ports it saw."""
    from tests.support.target import Reply, Target

    server = Target()
    try:
        server.always("/hook", Reply(200, body=b"ok"))
        sender = HttpClientTarget(allow_private=True)
        results = [sender.send(request(server.url("/hook"))) for _ in range(count)]
        return results, {got.client_port for got in server.wait_for("/hook", count)}
    finally:
        server.stop()


def test_deliveries_one_after_another_to_one_host_share_one_connection():
    results, ports = _one_after_another(5)
    assert [(r.status, r.body, r.error) for r in results] == [(200, b"ok", None)] * 5
    assert len(ports) == 1, "each delivery opened a connection of its own"


def test_a_connection_the_destination_asked_to_close_is_not_reused():
    from tests.support.target import Reply, Target

    server = Target()
    try:
        server.always("/hook", Reply(200, headers={"Connection": "close"}, body=b"bye"))
        sender = HttpClientTarget(allow_private=True)
        results = [sender.send(request(server.url("/hook"))) for _ in range(3)]
        ports = [got.client_port for got in server.wait_for("/hook", 3)]
    finally:
        server.stop()
    assert [(r.status, r.body) for r in results] == [(200, b"bye")] * 3
    assert len(set(ports)) == 3


def test_an_idle_connection_the_destination_closed_is_replaced_not_used():
    """A keep-alive timeout on the destination's side: the next delivery opens a new connection
    instead of failing on the closed one."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(4)
    port = server.getsockname()[1]
    served = []

    def run() -> None:
        with server:
            for _ in range(2):
                conn, address = server.accept()
                with conn:
                    _read_request(conn)
                    served.append(address[1])
                    # Answers keep-alive, then closes the idle connection at once.
                    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    sender = HttpClientTarget(allow_private=True)
    first = sender.send(request(f"http://127.0.0.1:{port}/hook"))
    time.sleep(0.2)  # the server's close reaches the pooled connection
    second = sender.send(request(f"http://127.0.0.1:{port}/hook"))
    thread.join(5)
    assert [(r.status, r.error) for r in (first, second)] == [(200, None), (200, None)]
    assert len(set(served)) == 2


def _answered_once_with(raw: bytes):
    """One delivery to a server that reads the request and writes `raw` back, then closes."""

    def answer(conn: socket.socket) -> None:
        _read_request(conn)
        conn.sendall(raw)

    port, done = _serve_raw(answer)
    result = HttpClientTarget(allow_private=True).send(request(f"http://127.0.0.1:{port}/hook"))
    done.wait(5)
    return result


@pytest.mark.parametrize("length", ["²".encode("latin-1"), b"9" * 5000])
def test_a_content_length_no_number_reads_is_a_failed_attempt_not_an_error(length):
    result = _answered_once_with(b"HTTP/1.1 200 OK\r\nContent-Length: " + length + b"\r\n\r\n")
    assert result.status is None and not result.unsendable
    assert result.error.startswith("connection error: BrokenAnswer")


def test_a_path_with_non_ascii_characters_arrives_percent_encoded():
    from tests.support.target import Reply, Target

    server = Target()
    try:
        server.always("/users/jos%C3%A9/delete", Reply(200))
        result = HttpClientTarget(allow_private=True).send(request(server.url("/users/josé/delete")))
        [got] = server.wait_for("/users/jos%C3%A9/delete")
    finally:
        server.stop()
    assert result.status == 200 and got.path == "/users/jos%C3%A9/delete"


def test_a_body_cut_short_of_its_content_length_is_a_failed_attempt():
    result = _answered_once_with(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc")
    assert result.status is None
    assert result.error.startswith("connection error: IncompleteRead")


def test_a_chunked_body_is_read_whole_and_its_connection_kept():
    requests_seen = []

    def answer(conn: socket.socket) -> None:
        for _ in range(2):
            requests_seen.append(_read_request(conn))
            conn.sendall(
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"
            )

    port, done = _serve_raw(answer)
    sender = HttpClientTarget(allow_private=True)
    results = [sender.send(request(f"http://127.0.0.1:{port}/hook")) for _ in range(2)]
    done.wait(5)
    assert [(r.status, r.body) for r in results] == [(200, b"hello world")] * 2
    assert len(requests_seen) == 2, "the second delivery came on the same connection"


@pytest.fixture(scope="module")
def authority():
    from tests.support.tls import Authority

    return Authority()


def _https_target(authority, *names: str):
    from tests.support.target import Reply, Target

    server = Target(tls=authority.server_context(*names))
    server.always("/hook", Reply(200, body=b"secure"))
    port = int(server.url("/hook").rsplit(":", 1)[1].split("/")[0])
    sender = HttpClientTarget(
        allow_private=False,
        # The name "resolves" to the checked loopback address, as a public name would to its own.
        resolver=lambda host, port: ["127.0.0.1"],
        forbidden=lambda address: False,
        tls=authority.client_context,
    )
    return server, port, sender


def test_https_goes_to_the_checked_address_verified_for_the_host_name(authority):
    server, port, sender = _https_target(authority, "looks-public.example")
    try:
        results = [sender.send(request(f"https://looks-public.example:{port}/hook")) for _ in range(2)]
        received = server.wait_for("/hook", 2)
    finally:
        server.stop()
    assert [(r.status, r.body) for r in results] == [(200, b"secure")] * 2
    assert {got.header("Host") for got in received} == {f"looks-public.example:{port}"}
    assert len({got.client_port for got in received}) == 1


def test_https_to_a_server_whose_certificate_names_another_host_is_refused(authority):
    server, port, sender = _https_target(authority, "someone-else.example")
    try:
        result = sender.send(request(f"https://looks-public.example:{port}/hook"))
    finally:
        server.stop()
    assert result.status is None
    assert "certificate verify failed" in result.error
    assert server.requests_to("/hook") == []


def test_a_malformed_chunked_answer_is_a_failed_attempt_that_may_be_retried():
    """The destination's answer was broken, not the request: the message is not dead-lettered as
    unsendable, and no part of the body counts as an answer."""

    result = _answered_once_with(
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n"
    )
    assert result.status is None and not result.unsendable
    assert result.error.startswith("connection error: IncompleteRead")


def test_idle_connections_on_descriptors_past_1023_are_reused():
    """select() refuses descriptors past 1023; a long-running ferry dev can have that many open."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < 1100:
        pytest.skip("this machine allows fewer than 1,100 open files")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, 1100), hard))
    held = []
    try:
        while not held or held[-1].fileno() < 1030:
            held.append(socket.socket())
        results, ports = _one_after_another(3)
    finally:
        for sock in held:
            sock.close()
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    assert [(r.status, r.error) for r in results] == [(200, None)] * 3
    assert len(ports) == 1
