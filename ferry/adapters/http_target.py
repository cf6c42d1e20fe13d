"""UrllibTarget: makes one delivery attempt over HTTP(S) with urllib3 (bundled with botocore, so
the Lambda package stays small). Redirects are not followed: a 3xx is a failed attempt, as a
redirect could lead a signed request somewhere the publisher never named."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from urllib.parse import urlsplit

import urllib3

from ferry.domain.delivery import AttemptResult, DeliveryRequest
from ferry.domain.destination import forbidden_address

MAX_RESPONSE_BYTES = 1_048_576
CONNECT_TIMEOUT_SECONDS = 10.0

Resolver = Callable[[str, int], list[str]]


def resolve(host: str, port: int) -> list[str]:
    return sorted({info[4][0] for info in socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)})


class _Deadline(Exception):
    pass


def _read_until(response: urllib3.BaseHTTPResponse, deadline: float) -> bytes:
    """Read the response body in chunks against one deadline for the whole attempt: a per-read
    timeout alone would let a destination that trickles bytes hold the dispatcher indefinitely."""
    chunks: list[bytes] = []
    size = 0
    while size < MAX_RESPONSE_BYTES:
        if time.monotonic() > deadline:
            raise _Deadline
        # read1 returns what one socket read brings; read(n) would block until n bytes arrive.
        chunk = response.read1(min(65_536, MAX_RESPONSE_BYTES - size))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


class UrllibTarget:
    def __init__(self, *, allow_private: bool, max_pools: int = 50, resolver: Resolver = resolve) -> None:
        self._allow_private = allow_private
        self._resolve = resolver
        self._pool = urllib3.PoolManager(num_pools=max_pools, maxsize=10, retries=False)

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
        host = parts.hostname or ""
        port = parts.port or (443 if parts.scheme == "https" else 80)
        connect_to = host
        if not self._allow_private:
            try:
                addresses = self._resolve(host, port)
            except OSError as exc:
                return failed(f"cannot resolve {host}: {exc}")
            if not addresses or any(forbidden_address(a) for a in addresses):
                return failed(f"{host} resolves to a private address; delivery refused (SSRF protection)")
            # Connect to the address just checked, not to a second resolution of the name, so DNS
            # cannot swap in an internal address (rebinding). TLS still verifies the host name.
            connect_to = addresses[0]

        timeout = request.timeout_seconds
        deadline = time.monotonic() + timeout
        pool_kwargs = {"server_hostname": host, "assert_hostname": host} if parts.scheme == "https" else {}
        headers = {**request.headers, "Host": parts.netloc.rsplit("@", 1)[-1]}
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        try:
            pool = self._pool.connection_from_host(connect_to, port, parts.scheme, pool_kwargs=pool_kwargs)
            response = pool.urlopen(
                request.method,
                path,
                body=request.body if request.method not in ("GET", "HEAD") or request.body else None,
                headers=headers,
                timeout=urllib3.Timeout(
                    connect=min(CONNECT_TIMEOUT_SECONDS, request.timeout_seconds),
                    read=request.timeout_seconds,
                ),
                redirect=False,
                retries=False,
                assert_same_host=False,
                preload_content=False,
            )
            try:
                body = _read_until(response, deadline)
            finally:
                response.release_conn()
        except urllib3.exceptions.NewConnectionError as exc:
            # (urllib3 derives this from ConnectTimeoutError; a refused connection is not a timeout.)
            return failed(f"connection failed: {exc.__class__.__name__}: {exc}")
        except (urllib3.exceptions.TimeoutError, _Deadline):
            return failed(f"timed out after {request.timeout_seconds:g}s")
        except urllib3.exceptions.HTTPError as exc:
            return failed(f"connection error: {exc}")
        return AttemptResult(
            status=response.status,
            headers=dict(response.headers.items()),
            body=body,
            started_at_ms=int(started * 1000),
            finished_at_ms=int(time.time() * 1000),
        )
