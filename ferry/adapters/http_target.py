"""HttpClientTarget: makes one delivery attempt over HTTP(S) with the standard library's
http.client, on keep-alive connections pinned to the addresses the SSRF check passed
(`ferry.adapters.http_connections`). Redirects are not followed: a 3xx is a failed attempt, as a
redirect could lead a signed request somewhere the publisher never named.

(http.client directly, not urllib3's pool over it: under ferry dev's load a delivery took
1.3-2.0 ms of CPU through urllib3 and 1.0 ms this way; docs/benchmarks.md.)"""

from __future__ import annotations

import http.client
import socket
import ssl
import time
from collections.abc import Callable
from urllib.parse import urlsplit

from ferry.adapters.http_connections import ConnectionPool, Key, PinnedConnection, default_tls
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


class _Deadline(Exception):
    pass


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


def _read_until(
    response: http.client.HTTPResponse, connection: PinnedConnection, deadline: float
) -> tuple[bytes, bool]:
    """Read the response body against one deadline for the whole attempt: before each read the
    socket may wait only for the time left, so a destination that trickles bytes cannot hold the
    dispatcher past the attempt's timeout. Returns the body and whether it was read to the end."""
    chunks: list[bytes] = []
    size = 0
    while size < MAX_RESPONSE_BYTES:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise _Deadline
        if connection.sock is not None:
            connection.sock.settimeout(remaining)
        # read1 returns what one socket read brings; read(n) would block until n bytes arrive.
        chunk = response.read1(min(65_536, MAX_RESPONSE_BYTES - size))
        if not chunk:
            if response.length:
                # The server closed the connection before Content-Length bytes came.
                raise http.client.IncompleteRead(b"".join(chunks), response.length)
            # http.client leaves a response read to its Content-Length open (read1 asks for 0
            # bytes then, which it does not take for the end), and a connection whose last
            # response is open cannot send the next request.
            response.close()
            return b"".join(chunks), True
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks), False


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

        parts = urlsplit(request.url)
        try:
            host = (parts.hostname or "").encode("idna").decode("ascii")
        except UnicodeError:
            return failed(f"invalid host name {parts.hostname!r}")
        port = parts.port or (443 if parts.scheme == "https" else 80)
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
            **request.headers,
            "Host": (f"[{host}]" if ":" in host else host) + (f":{parts.port}" if parts.port else ""),
        }
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        body = request.body if request.method not in ("GET", "HEAD") or request.body else None
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
                return self._exchange(key, connection, request, path, headers, body, deadline, started)
            if time.monotonic() >= deadline:
                break
        return failed(error)

    def _open(self, key: Key, deadline: float) -> PinnedConnection:
        scheme, address, port, host = key
        connection = PinnedConnection(
            address,
            port,
            server_name=host,
            tls=self._tls() if scheme == "https" else None,
            timeout=min(CONNECT_TIMEOUT_SECONDS, max(0.001, deadline - time.monotonic())),
        )
        try:
            connection.connect()
        except BaseException:
            connection.close()
            raise
        return connection

    def _exchange(
        self,
        key: Key,
        connection: PinnedConnection,
        request: DeliveryRequest,
        path: str,
        headers: dict[str, str],
        body: bytes | None,
        deadline: float,
        started: float,
    ) -> AttemptResult:
        """One request on an open connection; the body is read within the attempt's deadline. The
        connection goes back to the pool only when its response was read to the end."""

        def failed(error: str, *, unsendable: bool = False) -> AttemptResult:
            connection.close()
            return _failed(started, error, unsendable=unsendable)

        try:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise _Deadline
            if connection.sock is not None:
                connection.sock.settimeout(remaining)
            try:
                connection.request(request.method, path, body=body, headers=headers)
            except (ValueError, http.client.InvalidURL) as exc:
                # http.client refuses the request before writing it (a header name or value it
                # cannot carry, a control character in the path): trying again cannot help.
                return failed(f"the HTTP client refused the request: {exc}", unsendable=True)
            response = connection.getresponse()
            data, complete = _read_until(response, connection, deadline)
        except (TimeoutError, _Deadline):
            return failed(_timed_out(request))
        except (http.client.HTTPException, OSError, ValueError) as exc:
            # (http.client raises ValueError for a malformed chunk size: the destination's
            # answer was broken, which a later attempt may not be.)
            return failed(f"connection error: {exc.__class__.__name__}: {exc}")
        if complete and not response.will_close and connection.sock is not None:
            self._pool.give(key, connection)
        else:
            # Unread bytes may still arrive, or the server ends the connection: never reused.
            connection.close()
        return AttemptResult(
            status=response.status,
            headers=dict(response.headers.items()),
            body=data,
            started_at_ms=int(started * 1000),
            finished_at_ms=int(time.time() * 1000),
        )
