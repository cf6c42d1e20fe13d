"""Keep-alive HTTP(S) connections for the dispatcher (the exchange on them:
`ferry.adapters.http_exchange`).

A connection goes to one address the SSRF check has passed, never to a fresh resolution of the
host name (so DNS cannot swap in an internal address between the check and the connect), while
it speaks to the host by name: the Host header, TLS's server name and the certificate check.
"""

from __future__ import annotations

import select
import socket
import ssl
import threading
from collections import OrderedDict
from functools import cache


@cache
def default_tls() -> ssl.SSLContext:
    """The system's trusted CAs, certificate and host name verified (loaded at the first https
    delivery: an http-only dispatcher never pays for it)."""
    return ssl.create_default_context()


class PinnedConnection:
    """A TCP connection to one checked `address`, or TLS over it verified for `server_name` when
    `tls` is given; `sock` is None once closed."""

    def __init__(
        self, address: str, port: int, *, server_name: str, tls: ssl.SSLContext | None, timeout: float
    ) -> None:
        sock = socket.create_connection((address, port), timeout)
        # Small requests go out at once rather than waiting for the peer's delayed ACK.
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if tls is not None:
            try:
                sock = tls.wrap_socket(sock, server_hostname=server_name)
            except BaseException:
                sock.close()
                raise
        self.sock: socket.socket | None = sock

    def close(self) -> None:
        sock, self.sock = self.sock, None
        if sock is not None:
            sock.close()


Key = tuple[str, str, int, str]  # scheme, address, port, server name


def _dropped(connection: PinnedConnection) -> bool:
    """The peer closed an idle connection (or sent bytes nobody asked for): not reusable."""
    sock = connection.sock
    if sock is None:
        return True
    if isinstance(sock, ssl.SSLSocket) and sock.pending():
        return True  # decrypted bytes nobody asked for
    try:
        if hasattr(select, "poll"):  # select() cannot watch descriptors past 1023
            poller = select.poll()
            poller.register(sock, select.POLLIN)
            return bool(poller.poll(0))
        readable, _, _ = select.select([sock], [], [], 0)
    except (OSError, ValueError):
        return True
    return bool(readable)


class ConnectionPool:
    """Idle keep-alive connections by (scheme, address, port, server name): at most
    `idle_per_host` kept per key and `max_hosts` keys, the least recently used dropped first.
    Connections in use are not counted, so concurrent deliveries never wait for one; a
    connection given back to a full key is closed."""

    def __init__(self, *, max_hosts: int, idle_per_host: int) -> None:
        self._max_hosts = max_hosts
        self._idle_per_host = idle_per_host
        self._idle: OrderedDict[Key, list[PinnedConnection]] = OrderedDict()
        self._lock = threading.Lock()

    def take(self, key: Key) -> PinnedConnection | None:
        """An idle connection of `key` that is still open, or None."""
        while True:
            with self._lock:
                idle = self._idle.get(key)
                if not idle:
                    return None
                connection = idle.pop()
                self._idle.move_to_end(key)
            if not _dropped(connection):
                return connection
            connection.close()

    def give(self, key: Key, connection: PinnedConnection) -> None:
        """Keep `connection` (its response read to the end) for the next request to `key`."""
        closed: list[PinnedConnection] = []
        with self._lock:
            idle = self._idle.setdefault(key, [])
            self._idle.move_to_end(key)
            if len(idle) < self._idle_per_host:
                idle.append(connection)
            else:
                closed.append(connection)
            while len(self._idle) > self._max_hosts:
                _, evicted = self._idle.popitem(last=False)
                closed.extend(evicted)
        for extra in closed:
            extra.close()
