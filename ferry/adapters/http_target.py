"""UrllibTarget: makes one delivery attempt over HTTP(S) with urllib3 (bundled with botocore, so
the Lambda package stays small). Redirects are not followed: a 3xx is a failed attempt, as a
redirect could lead a signed request somewhere the publisher never named."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from dataclasses import replace
from urllib.parse import SplitResult, urlsplit

import urllib3

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


def _read_until(response: urllib3.BaseHTTPResponse, deadline: float) -> tuple[bytes, bool]:
    """Read the response body against one deadline for the whole attempt: before each read the
    socket may wait only for the time left, so a destination that trickles bytes cannot hold the
    dispatcher past the attempt's timeout. Returns the body and whether it was read to the end."""
    chunks: list[bytes] = []
    size = 0
    while size < MAX_RESPONSE_BYTES:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise _Deadline
        # Looked up before every read: once the body has been read to its end, urllib3 hands the
        # connection back to the pool (another delivery may be using its socket, or a full pool
        # has closed it), and `response.connection` is None.
        sock = getattr(response.connection, "sock", None)
        if sock is not None:
            sock.settimeout(remaining)
        # read1 returns what one socket read brings; read(n) would block until n bytes arrive.
        chunk = response.read1(min(65_536, MAX_RESPONSE_BYTES - size))
        if not chunk:
            return b"".join(chunks), True
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks), False


class UrllibTarget:
    def __init__(
        self,
        *,
        allow_private: bool,
        max_pools: int = 50,
        connections_per_host: int = 10,
        resolver: Resolver = resolve,
        forbidden: Callable[[str], bool] = forbidden_address,
    ) -> None:
        self._allow_private = allow_private
        self._resolve = resolver
        self._forbidden = forbidden
        self._pool = urllib3.PoolManager(num_pools=max_pools, maxsize=connections_per_host, retries=False)

    def send(self, request: DeliveryRequest) -> AttemptResult:
        started = time.time()

        def failed(error: str) -> AttemptResult:
            return AttemptResult(
                status=None,
                error=error,
                started_at_ms=int(started * 1000),
                finished_at_ms=int(time.time() * 1000),
            )

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
        host_header = (f"[{host}]" if ":" in host else host) + (f":{parts.port}" if parts.port else "")
        error = "no address to connect to"
        for address in candidates:
            try:
                response, body = self._exchange(address, port, parts, host, host_header, request, deadline)
            except urllib3.exceptions.NewConnectionError as exc:
                # (urllib3 derives this from ConnectTimeoutError; a refused connection is not a
                # timeout.) The next address of the name may answer.
                error = f"connection failed: {exc.__class__.__name__}: {exc}"
            except urllib3.exceptions.ConnectTimeoutError:
                error = f"timed out after {request.timeout_seconds:g}s"
            except (urllib3.exceptions.TimeoutError, _Deadline):
                return failed(f"timed out after {request.timeout_seconds:g}s")
            except urllib3.exceptions.HTTPError as exc:
                return failed(f"connection error: {exc}")
            except ValueError as exc:
                # http.client refuses the request before writing it (a header name or value it
                # cannot carry, a control character in the path): trying again cannot help.
                return replace(failed(f"the HTTP client refused the request: {exc}"), unsendable=True)
            else:
                return AttemptResult(
                    status=response.status,
                    headers=dict(response.headers.items()),
                    body=body,
                    started_at_ms=int(started * 1000),
                    finished_at_ms=int(time.time() * 1000),
                )
            if time.monotonic() >= deadline:
                break
        return failed(error)

    def _exchange(
        self,
        address: str,
        port: int,
        parts: SplitResult,
        host: str,
        host_header: str,
        request: DeliveryRequest,
        deadline: float,
    ) -> tuple[urllib3.BaseHTTPResponse, bytes]:
        """One request to one address; the body is read within the attempt's deadline."""
        pool_kwargs = {"server_hostname": host, "assert_hostname": host} if parts.scheme == "https" else {}
        pool = self._pool.connection_from_host(address, port, parts.scheme, pool_kwargs=pool_kwargs)
        remaining = max(0.001, deadline - time.monotonic())
        response = pool.urlopen(
            request.method,
            (parts.path or "/") + (f"?{parts.query}" if parts.query else ""),
            body=request.body if request.method not in ("GET", "HEAD") or request.body else None,
            headers={**request.headers, "Host": host_header},
            timeout=urllib3.Timeout(connect=min(CONNECT_TIMEOUT_SECONDS, remaining), read=remaining),
            redirect=False,
            retries=False,
            assert_same_host=False,
            preload_content=False,
        )
        complete = False
        try:
            body, complete = _read_until(response, deadline)
        finally:
            if not complete:
                # Unread bytes may still arrive: this connection must never serve another request.
                response.close()
            response.release_conn()
        return response, body
