"""The HttpTarget port's contract: InMemoryTarget and HttpClientTarget (against a real HTTP server on
127.0.0.1) answer the same requests the same way."""

from __future__ import annotations

import re
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest

from ferry.domain.delivery import AttemptResult, DeliveryRequest
from ferry.usecases.ports import HttpTarget
from tests.support.target import Reply, Target


@dataclass
class Driver:
    target: HttpTarget
    # Make `path` answer with `reply`; returns its URL.
    serve: Callable[[str, Reply], str]
    # A URL nothing answers at.
    nowhere: str
    received: Callable[[], int]


@pytest.fixture(scope="module")
def server() -> Iterator[Target]:
    target = Target()
    yield target
    target.stop()


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(params=["memory", pytest.param("http.client", marks=pytest.mark.adapter)])
def driver(request: pytest.FixtureRequest) -> Driver:
    if request.param == "memory":
        from ferry.adapters.memory.target import InMemoryTarget, answers

        twin = InMemoryTarget()

        def serve(path: str, reply: Reply) -> str:
            url = "http://127.0.0.1:1" + path
            twin.route(
                url, answers(AttemptResult(status=reply.status, headers=reply.headers, body=reply.body))
            )
            return url

        return Driver(twin, serve, "http://127.0.0.1:2/none", lambda: len(twin.requests))
    from ferry.adapters.http_target import HttpClientTarget

    server = request.getfixturevalue("server")

    def serve_real(path: str, reply: Reply) -> str:
        server.always(path, reply)
        return server.url(path)

    return Driver(
        HttpClientTarget(allow_private=True),
        serve_real,
        f"http://127.0.0.1:{_closed_port()}/none",
        lambda: len(server.received),
    )


def _path(request: pytest.FixtureRequest) -> str:
    return "/" + re.sub(r"[^A-Za-z0-9_-]+", "-", request.node.name)


def _request(url: str, **fields) -> DeliveryRequest:
    base = dict(
        method="POST", url=url, headers={"Content-Type": "text/plain"}, body=b"hi", timeout_seconds=5.0
    )
    return DeliveryRequest(**{**base, **fields})


def test_the_answer_comes_back_with_status_headers_and_body(driver, request):
    url = driver.serve(_path(request), Reply(201, headers={"X-Answer": "yes"}, body=b"made"))
    result = driver.target.send(_request(url))
    assert result.status == 201 and result.ok
    assert result.headers["X-Answer"] == "yes" and result.body == b"made"
    assert not result.unsendable


def test_an_error_status_is_a_failed_attempt_not_an_exception(driver, request):
    url = driver.serve(_path(request), Reply(503, body=b"busy"))
    result = driver.target.send(_request(url))
    assert result.status == 503 and not result.ok and result.describe() == "HTTP 503"


def test_nothing_listening_is_a_failed_attempt_with_an_error(driver):
    result = driver.target.send(_request(driver.nowhere))
    assert result.status is None and result.error and not result.unsendable


def test_a_header_http_cannot_carry_is_refused_unsent(driver, request):
    url = driver.serve(_path(request), Reply(200))
    before = driver.received()
    result = driver.target.send(_request(url, headers={"X-Evil": "a\r\nX-Injected: 1"}))
    assert result.status is None and result.unsendable
    assert "refused the request" in result.error
    assert driver.received() == before
