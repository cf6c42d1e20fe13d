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

        if not self._allow_private:
            parts = urlsplit(request.url)
            port = parts.port or (443 if parts.scheme == "https" else 80)
            try:
                addresses = self._resolve(parts.hostname or "", port)
            except OSError as exc:
                return failed(f"cannot resolve {parts.hostname}: {exc}")
            if any(forbidden_address(a) for a in addresses):
                return failed(
                    f"{parts.hostname} resolves to a private address; delivery refused (SSRF protection)"
                )

        timeout = urllib3.Timeout(
            total=request.timeout_seconds, connect=min(CONNECT_TIMEOUT_SECONDS, request.timeout_seconds)
        )
        try:
            response = self._pool.request(
                request.method,
                request.url,
                body=request.body if request.method not in ("GET", "HEAD") or request.body else None,
                headers=request.headers,
                timeout=timeout,
                redirect=False,
                preload_content=False,
            )
            try:
                body = response.read(MAX_RESPONSE_BYTES)
            finally:
                response.release_conn()
        except urllib3.exceptions.NewConnectionError as exc:
            # (urllib3 derives this from ConnectTimeoutError; a refused connection is not a timeout.)
            return failed(f"connection failed: {exc.__class__.__name__}: {exc}")
        except urllib3.exceptions.TimeoutError:
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
