"""HttpClientTarget: makes one delivery attempt over HTTP(S), on keep-alive connections pinned to
the addresses the SSRF check passed (`ferry.adapters.http_connections`), one HTTP/1.1 exchange
each (`ferry.adapters.http_exchange`). Redirects are not followed: a 3xx is a failed attempt, as
a redirect could lead a signed request somewhere the publisher never named.

(Neither urllib3 nor http.client: a delivery took 1.3-2.0 ms of CPU through urllib3 under ferry
dev's load, 0.7 ms with http.client, and 0.3-0.4 ms with the exchange of its own;
docs/benchmarks.md.)"""

from __future__ import annotations

import socket
import ssl
import time
from collections.abc import Callable
from urllib.parse import urlsplit

from ferry.adapters.http_connections import ConnectionPool, Key, PinnedConnection, default_tls
from ferry.adapters.http_exchange import BrokenAnswer, Deadline, Unsendable, encode_request, exchange
from ferry.domain.delivery import AttemptResult, DeliveryRequest
from ferry.domain.destination import forbidden_address

MAX_RESPONSE_BYTES = 1_048_576
CONNECT_TIMEOUT_SECONDS = 10.0

Resolver = Callable[[str, int], list[str]]


def resolve(host: str, port: int) -> list[str]:
    """Every address of `host`, in the resolver's order with IPv4 first (a Lambda function outside
    a VPC has no IPv6 egress)."""
    found = dict.fromkeys(info[4][0] for info in socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP))
    return sorted(found, key=lambda address: ":" in address)


def _failed(started: float, error: str, *, unsendable: bool = False) -> AttemptResult:
    """An attempt that got no answer, begun at `started` (epoch seconds) and ended now."""
    return AttemptResult(
        status=None,
        error=error,
        started_at_ms=int(started * 1000),
        finished_at_ms=int(time.time() * 1000),
        unsendable=unsendable,
    )


def _timed_out(request: DeliveryRequest) -> str:
    return f"timed out after {request.timeout_seconds:g}s"


class HttpClientTarget:
    def __init__(
        self,
        *,
        allow_private: bool,
        max_pools: int = 50,
        connections_per_host: int = 10,
        resolver: Resolver = resolve,
        forbidden: Callable[[str], bool] = forbidden_address,
        tls: Callable[[], ssl.SSLContext] = default_tls,
    ) -> None:
        self._allow_private = allow_private
        self._resolve = resolver
        self._forbidden = forbidden
        self._tls = tls
        self._pool = ConnectionPool(max_hosts=max_pools, idle_per_host=connections_per_host)

    def send(self, request: DeliveryRequest) -> AttemptResult:
        started = time.time()

        def failed(error: str) -> AttemptResult:
            return _failed(started, error)

        try:
            parts = urlsplit(request.url)
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError as exc:
            # A stored URL publish would have refused (a port out of range, a broken IPv6
            # literal): sending again cannot mend it, and raising would fail the whole batch.
            return _failed(started, f"invalid destination URL {request.url[:200]!r}: {exc}", unsendable=True)
        try:
            host = (parts.hostname or "").encode("idna").decode("ascii")
        except UnicodeError:
            return failed(f"invalid host name {parts.hostname!r}")
        candidates = [host]
        if not self._allow_private:
            try:
                candidates = self._resolve(host, port)
            except OSError as exc:
                return failed(f"cannot resolve {host}: {exc}")
            if not candidates or any(self._forbidden(a) for a in candidates):
                return failed(f"{host} resolves to a private address; delivery refused (SSRF protection)")
            # Connect to the addresses just checked, not to a second resolution of the name, so
            # DNS cannot swap in an internal address (rebinding). TLS still verifies the host name.

        deadline = time.monotonic() + request.timeout_seconds
        headers = {
            # Host first, as clients send it; the one the URL names, whatever the headers say.
            "Host": (f"[{host}]" if ":" in host else host) + (f":{parts.port}" if parts.port else ""),
            **{name: value for name, value in request.headers.items() if name.lower() != "host"},
        }
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        body = request.body if request.method not in ("GET", "HEAD") or request.body else None
        try:
            wire = encode_request(request.method, path, headers, body)
        except Unsendable as exc:
            # Refused before any connection: trying again cannot help.
            return _failed(started, f"the HTTP client refused the request: {exc}", unsendable=True)
        error = "no address to connect to"
        for address in candidates:
            key = (parts.scheme, address, port, host)
            connection = self._pool.take(key)
            if connection is None:
                try:
                    connection = self._open(key, deadline)
                except TimeoutError:
                    error = _timed_out(request)
                except ssl.SSLError as exc:
                    # The certificate or the handshake failed: another address of the name is
                    # the same server, and the same refusal.
                    return failed(f"connection error: {exc}")
                except OSError as exc:
                    # Refused or unreachable: the next address of the name may answer.
                    error = f"connection failed: {exc.__class__.__name__}: {exc}"
            if connection is not None:
                return self._exchange(key, connection, request, wire, deadline, started)
            if time.monotonic() >= deadline:
                break
        return failed(error)

    def _open(self, key: Key, deadline: float) -> PinnedConnection:
        scheme, address, port, host = key
        return PinnedConnection(
            address,
            port,
            server_name=host,
            tls=self._tls() if scheme == "https" else None,
            timeout=min(CONNECT_TIMEOUT_SECONDS, max(0.001, deadline - time.monotonic())),
        )

    def _exchange(
        self,
        key: Key,
        connection: PinnedConnection,
        request: DeliveryRequest,
        wire: bytes,
        deadline: float,
        started: float,
    ) -> AttemptResult:
        """One request on an open connection, its answer read within the attempt's deadline. The
        connection goes back to the pool only when its answer was read to the end."""

        def failed(error: str) -> AttemptResult:
            connection.close()
            return _failed(started, error)

        sock = connection.sock
        if sock is None:
            return failed("connection error: the connection was closed")
        try:
            answer = exchange(
                sock, wire, method=request.method, deadline=deadline, max_body=MAX_RESPONSE_BYTES
            )
        except (TimeoutError, Deadline):
            return failed(_timed_out(request))
        except (BrokenAnswer, OSError, ValueError) as exc:
            # (ValueError: an answer this exchange did not foresee; still the destination's.)
            return failed(f"connection error: {exc.__class__.__name__}: {exc}")
        if answer.reusable:
            self._pool.give(key, connection)
        else:
            # Unread bytes may still arrive, or the server ends the connection: never reused.
            connection.close()
        return AttemptResult(
            status=answer.status,
            headers=answer.headers,
            body=answer.body,
            started_at_ms=int(started * 1000),
            finished_at_ms=int(time.time() * 1000),
        )
