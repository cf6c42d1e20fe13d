"""The delivery's HTTP/1.1 exchange against raw answers on 127.0.0.1: framing, interim answers,
limits, and when a connection may carry the next request."""

from __future__ import annotations

import socket
import threading
import time

import pytest

from ferry.adapters.http_exchange import (
    MAX_HEADERS,
    MAX_LINE_BYTES,
    BrokenAnswer,
    Deadline,
    IncompleteRead,
    RemoteDisconnected,
    Unsendable,
    encode_request,
    exchange,
)


class _Peer:
    """A connected socket pair: the exchange's end, and the destination's end that answers."""

    def __init__(self) -> None:
        server = socket.socket()
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        self.client = socket.create_connection(server.getsockname())
        self.server, _ = server.accept()
        server.close()
        self.requests: list[bytes] = []

    def answer(self, raw: bytes | list[bytes], *, close: bool = False, pause: float = 0.0) -> None:
        """Answer the next request with `raw`; pieces are written one by one, `pause` apart."""

        def run() -> None:
            data = b""
            while b"\r\n\r\n" not in data:
                data += self.server.recv(65_536)
            self.requests.append(data)
            for piece in [raw] if isinstance(raw, bytes) else raw:
                self.server.sendall(piece)
                time.sleep(pause)
            if close:
                self.server.close()

        threading.Thread(target=run, daemon=True).start()

    def exchange(self, method: str = "POST", max_body: int = 1_048_576, timeout: float = 5):
        wire = encode_request(method, "/hook", {"Host": "example.test"}, b"hi")
        return exchange(
            self.client, wire, method=method, deadline=time.monotonic() + timeout, max_body=max_body
        )

    def close(self) -> None:
        self.client.close()
        self.server.close()


@pytest.fixture
def peer():
    pair = _Peer()
    yield pair
    pair.close()


def test_a_content_length_answer_is_read_whole_and_its_connection_reusable(peer):
    peer.answer(b"HTTP/1.1 201 Created\r\nContent-Length: 4\r\nX-Answer: yes\r\n\r\nmade")
    answer = peer.exchange()
    assert (answer.status, answer.body, answer.headers["X-Answer"], answer.reusable) == (
        201,
        b"made",
        "yes",
        True,
    )


def test_the_request_goes_out_whole_with_host_first_and_its_length():
    wire = encode_request("POST", "/a?b=1", {"Host": "h.test", "X-One": "1"}, b"body")
    head, _, body = wire.partition(b"\r\n\r\n")
    assert head.split(b"\r\n") == [
        b"POST /a?b=1 HTTP/1.1",
        b"Host: h.test",
        b"X-One: 1",
        b"Accept-Encoding: identity",
        b"Content-Length: 4",
    ]
    assert body == b"body"


def test_a_bodiless_get_has_no_content_length_and_an_empty_body_has_zero():
    assert b"Content-Length" not in encode_request("GET", "/", {"Host": "h"}, None)
    assert b"Content-Length: 0\r\n" in encode_request("POST", "/", {"Host": "h"}, b"")
    assert b"Content-Length: 0\r\n" in encode_request("DELETE", "/", {"Host": "h"}, b"")


def test_framing_headers_among_the_given_ones_are_left_out_for_the_requests_own():
    wire = encode_request(
        "POST", "/", {"Host": "h", "Content-Length": "0", "transfer-encoding": "chunked"}, b"body"
    )
    head = wire.partition(b"\r\n\r\n")[0].lower()
    assert head.count(b"content-length") == 1 and b"content-length: 4" in head
    assert b"transfer-encoding" not in head


def test_non_ascii_in_the_target_goes_percent_encoded_as_utf8_and_existing_escapes_stay():
    wire = encode_request("POST", "/users/josé/a%20b?q=ü", {"Host": "h"}, b"")
    assert wire.startswith(b"POST /users/jos%C3%A9/a%20b?q=%C3%BC HTTP/1.1\r\n")


@pytest.mark.parametrize(
    "headers, target",
    [
        ({"X-Evil": "a\r\nX-Injected: 1"}, "/"),
        ({"X-Evil": "a\nb"}, "/"),
        ({"X-Evil": "nul\x00"}, "/"),
        ({"Bad Name": "1"}, "/"),
        ({"X-Name:": "1"}, "/"),
        ({"X-Snow": "☃"}, "/"),
        ({}, "/a b"),
        ({}, "/a\r\nX: 1"),
    ],
)
def test_a_request_http_cannot_carry_is_refused_before_writing(headers, target):
    with pytest.raises(Unsendable):
        encode_request("POST", target, {"Host": "h", **headers}, b"")


@pytest.mark.parametrize("method", ["GET /admin HTTP/1.1\r\nHost: internal\r\n\r\nGET", "PO ST", "", "GÉT"])
def test_a_method_that_is_not_a_token_is_refused_before_writing(method):
    with pytest.raises(Unsendable):
        encode_request(method, "/", {"Host": "h"}, b"")


def test_a_long_chunked_answer_arriving_in_pieces_is_read_whole(peer):
    # Past 64 KiB read, the reader drops what it has consumed: a line's search must not lose its
    # place (a streamed 2xx read as a broken answer is a delivery retried, then dead-lettered).
    chunks = [b"2000\r\n" + b"a" * 8192 + b"\r\n" for _ in range(20)]
    peer.answer(
        [b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", *chunks, b"0\r\n\r\n"], pause=0.005
    )
    answer = peer.exchange()
    assert (answer.status, len(answer.body), answer.reusable) == (200, 20 * 8192, True)


def test_long_header_lines_arriving_in_pieces_are_read_whole(peer):
    head = b"HTTP/1.1 200 OK\r\n" + b"".join(b"X-Big-%d: %s\r\n" % (i, b"v" * 40_000) for i in range(3))
    wire = head + b"Content-Length: 2\r\n\r\nok"
    peer.answer([wire[i : i + 16_384] for i in range(0, len(wire), 16_384)], pause=0.02)
    answer = peer.exchange()
    assert (answer.status, answer.body, len(answer.headers["X-Big-2"])) == (200, b"ok", 40_000)


def test_interim_answers_are_skipped_for_the_final_one(peer):
    peer.answer(
        b"HTTP/1.1 100 Continue\r\n\r\n"
        b"HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n"
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
    )
    answer = peer.exchange()
    assert (answer.status, answer.body, answer.reusable) == (200, b"ok", True)
    assert "Link" not in answer.headers


@pytest.mark.parametrize("status", [204, 304])
def test_answers_that_carry_no_body_are_not_waited_on(peer, status):
    # A Content-Length on a 304 is the representation's, not a body that follows.
    peer.answer(b"HTTP/1.1 %d Nothing\r\nContent-Length: 12\r\n\r\n" % status)
    answer = peer.exchange(timeout=2)
    assert (answer.status, answer.body, answer.reusable) == (status, b"", True)


def test_an_answer_to_head_has_no_body_whatever_its_length_says(peer):
    peer.answer(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n")
    answer = peer.exchange("HEAD", timeout=2)
    assert (answer.status, answer.body, answer.reusable) == (200, b"", True)


def test_an_answer_without_framing_is_read_to_the_close_and_not_reused(peer):
    peer.answer(b"HTTP/1.1 200 OK\r\n\r\nuntil the end", close=True)
    answer = peer.exchange()
    assert (answer.status, answer.body, answer.reusable) == (200, b"until the end", False)


def test_an_http_1_0_answer_or_connection_close_is_not_reused(peer):
    peer.answer(b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok")
    assert not peer.exchange().reusable
    peer.answer(b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok")
    assert not peer.exchange().reusable


def test_bytes_beyond_the_answer_make_the_connection_unusable(peer):
    peer.answer(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\n")
    answer = peer.exchange()
    assert answer.body == b"ok" and not answer.reusable


def test_a_body_over_the_limit_is_cut_and_its_connection_dropped(peer):
    peer.answer(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n0123456789")
    answer = peer.exchange(max_body=4)
    assert (answer.body, answer.reusable) == (b"0123", False)


def test_a_chunked_body_over_the_limit_is_cut_and_its_connection_dropped(peer):
    peer.answer(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n6\r\nabcdef\r\n0\r\n\r\n")
    answer = peer.exchange(max_body=4)
    assert (answer.body, answer.reusable) == (b"abcd", False)


def test_chunk_extensions_and_trailers_are_read_past(peer):
    peer.answer(
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"3;name=value\r\nabc\r\n0\r\nX-Trailer: 1\r\n\r\n"
    )
    answer = peer.exchange()
    assert (answer.body, answer.reusable) == (b"abc", True)


@pytest.mark.parametrize(
    "raw",
    [
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 2\r\n\r\n2\r\nok\r\n0\r\n\r\n",
        b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"2\r\nok\r\n0\r\n\r\n",
    ],
)
def test_an_answer_framed_two_ways_is_read_but_its_connection_not_reused(peer, raw):
    peer.answer(raw)
    answer = peer.exchange()
    assert (answer.body, answer.reusable) == (b"ok", False)


def test_a_folded_header_line_continues_the_previous_value(peer):
    peer.answer(b"HTTP/1.1 200 OK\r\nX-Long: one\r\n two\r\nContent-Length: 0\r\n\r\n")
    assert peer.exchange().headers["X-Long"] == "one two"


@pytest.mark.parametrize(
    "raw, error",
    [
        (b"ICY 200 OK\r\n\r\n", BrokenAnswer),
        (b"HTTP/1.1 2000 OK\r\n\r\n", BrokenAnswer),
        (b"HTTP/1.1 200 OK\r\nno colon here\r\n\r\n", BrokenAnswer),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok", BrokenAnswer),
        (b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", BrokenAnswer),
        ("HTTP/1.1 200 OK\r\nContent-Length: ²\r\n\r\n".encode("latin-1"), BrokenAnswer),
        (b"HTTP/1.1 200 OK\r\nContent-Length: " + b"9" * 5000 + b"\r\n\r\n", BrokenAnswer),
        (b"HTTP/1.7 200 OK\r\n\r\n", BrokenAnswer),
        (b"HTTP/1.1 000 Zero\r\n\r\n", BrokenAnswer),
        (b"HTTP/1.1 200 OK\r\nX: a\r\n" + b" folded\r\n" * (MAX_HEADERS + 1) + b"\r\n", BrokenAnswer),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0x2\r\nab\r\n0\r\n\r\n", IncompleteRead),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n+2\r\nab\r\n0\r\n\r\n", IncompleteRead),
        (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n" + b"X-T: 1\r\n" * (MAX_HEADERS + 1),
            BrokenAnswer,
        ),
        (b"HTTP/1.1 200 OK\r\n" + b"X-A: 1\r\n" * (MAX_HEADERS + 1) + b"\r\n", BrokenAnswer),
        (b"HTTP/1.1 200 OK\r\nX-Big: " + b"x" * MAX_LINE_BYTES + b"\r\n\r\n", BrokenAnswer),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", IncompleteRead),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", IncompleteRead),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcX\r\n0\r\n\r\n", IncompleteRead),
        (b"", RemoteDisconnected),
        (b"HTTP/1.1 200 OK\r\nX-A: 1\r\n", RemoteDisconnected),
    ],
)
def test_an_answer_that_is_not_http_this_exchange_reads_is_a_broken_answer(peer, raw, error):
    peer.answer(raw, close=True)
    with pytest.raises(error):
        peer.exchange(timeout=2)


def test_the_deadline_bounds_the_whole_answer_not_each_read(peer):
    def trickle() -> None:
        peer.server.recv(65_536)
        peer.server.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n")
        for _ in range(100):
            try:
                peer.server.sendall(b"x")
            except OSError:
                return
            time.sleep(0.05)

    threading.Thread(target=trickle, daemon=True).start()
    started = time.monotonic()
    with pytest.raises((Deadline, TimeoutError)):
        peer.exchange(timeout=0.5)
    assert time.monotonic() - started < 2


def test_a_read_begun_late_waits_only_for_the_time_left(peer):
    """Headers come just before the deadline, then nothing: the last read may not wait for the
    whole timeout again."""

    def stall() -> None:
        peer.server.recv(65_536)
        time.sleep(1.6)
        peer.server.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n")

    threading.Thread(target=stall, daemon=True).start()
    started = time.monotonic()
    with pytest.raises((Deadline, TimeoutError)):
        peer.exchange(timeout=2)
    assert time.monotonic() - started < 3, "a read waited past the attempt's deadline"
