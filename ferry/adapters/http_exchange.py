"""One HTTP/1.1 exchange on an open connection: the request written whole in one send, the answer
read back within the attempt's deadline (RFC 9112).

The dispatcher's deliveries only: a request Ferry built, an answer read into memory (at most
`max_body` bytes), no redirects, no upgrades. The standard library's http.client did the same at
about twice the CPU (its header parsing goes through the email package; docs/benchmarks.md), and
each delivery pays it, in `ferry dev` beside every other message's work.

What a destination may answer, and what comes of it:
- interim answers (100 Continue, 102, 103 Early Hints) are skipped; the final answer counts;
- the body is framed by `Transfer-Encoding: chunked`, else by `Content-Length`, else by the
  connection's end (then the connection is not reused); HEAD, 204 and 304 answers have none;
- a status line or header that is not HTTP, more than `MAX_HEADERS` header fields, a line over
  `MAX_LINE_BYTES`, conflicting lengths, a malformed chunk or a body cut short are `BrokenAnswer`s
  (a failed attempt a retry may mend);
- the connection is kept only when the answer was read to its end, the destination did not ask
  to close, and nothing more than the answer arrived.
"""

from __future__ import annotations

import re
import socket
import time
from dataclasses import dataclass

# http.client's limits, which destinations have met so far.
MAX_LINE_BYTES = 65_536
MAX_HEADERS = 100
RECEIVE_BYTES = 65_536

# RFC 9110 5.1 and 9.1: a field name and a method are tokens; a field value has no CR, LF or NUL
# (HTTP/1.1 could not carry it unchanged: it would split the request).
_TOKEN = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+").fullmatch
_FORBIDDEN_IN_VALUE = re.compile(rb"[\r\n\x00]").search
# RFC 9112 3.2: a request target with no whitespace or control characters.
_FORBIDDEN_IN_TARGET = re.compile(r"[\x00-\x20\x7f]").search
_NO_BODY_STATUSES = frozenset({204, 304})


class Unsendable(ValueError):
    """The request cannot be written as HTTP/1.1 (a header or target it cannot carry): nothing
    was sent, and sending again cannot help."""


class BrokenAnswer(Exception):
    """The destination's answer is not HTTP/1.1 this exchange can read."""


class RemoteDisconnected(BrokenAnswer):
    """The destination closed the connection before answering."""


class IncompleteRead(BrokenAnswer):
    """The answer's body ended before its framing said it would."""


class Deadline(Exception):
    """The attempt's time ran out."""


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes
    # Whether the connection can carry the next request: the body read to its end (not cut at
    # `max_body`), the destination did not ask to close, nothing unasked-for arrived after it.
    reusable: bool


def encode_request(method: str, target: str, headers: dict[str, str], body: bytes | None) -> bytes:
    """The request as it goes on the wire. `headers` carry Host; Content-Length is added for a
    body, or for an empty POST, PUT or PATCH (as http.client did), unless given."""
    if _FORBIDDEN_IN_TARGET(target):
        raise Unsendable(f"the URL path {target!r} contains whitespace or control characters")
    lines = [f"{method} {target} HTTP/1.1".encode("ascii", "replace")]
    if not _TOKEN(lines[0].partition(b" ")[0]):
        raise Unsendable(f"invalid method {method!r}")
    named = {name.lower() for name in headers}
    for name, value in headers.items():
        try:
            raw_name, raw_value = name.encode("ascii"), value.encode("latin-1")
        except UnicodeEncodeError:
            raise Unsendable(f"header {name!r}: only Latin-1 can be carried") from None
        if not _TOKEN(raw_name):
            raise Unsendable(f"invalid header name {name!r}")
        if _FORBIDDEN_IN_VALUE(raw_value):
            raise Unsendable(f"invalid value of header {name}: CR, LF or NUL")
        lines.append(raw_name + b": " + raw_value)
    if "accept-encoding" not in named:
        # Without it a server may compress; the body is handed on as it came (http.client's default).
        lines.append(b"Accept-Encoding: identity")
    if "content-length" not in named and (body or (body is not None and method in ("POST", "PUT", "PATCH"))):
        lines.append(b"Content-Length: %d" % len(body or b""))
    return b"\r\n".join(lines) + b"\r\n\r\n" + (body or b"")


class _Reader:
    """Bytes from the socket, each receive waiting at most until the attempt's deadline (a
    destination that trickles bytes cannot hold the attempt past its timeout)."""

    def __init__(self, sock: socket.socket, deadline: float) -> None:
        self._sock = sock
        self._deadline = deadline
        self._buffer = b""
        self.closed = False  # the destination ended the connection

    def _fill(self) -> bool:
        """More bytes into the buffer; False at the connection's end."""
        if self.closed:
            return False
        remaining = self._deadline - time.monotonic()
        if remaining <= 0:
            raise Deadline
        self._sock.settimeout(remaining)
        data = self._sock.recv(RECEIVE_BYTES)
        if not data:
            self.closed = True
            return False
        self._buffer += data
        return True

    def line(self) -> bytes | None:
        """The next line without its CRLF (or LF); None if the connection ended first."""
        start = 0
        while True:
            end = self._buffer.find(b"\n", start)
            if end >= 0:
                if end > MAX_LINE_BYTES:
                    raise BrokenAnswer(f"a line of the answer is over {MAX_LINE_BYTES} bytes")
                line, self._buffer = self._buffer[:end], self._buffer[end + 1 :]
                return line[:-1] if line.endswith(b"\r") else line
            if len(self._buffer) > MAX_LINE_BYTES:
                raise BrokenAnswer(f"a line of the answer is over {MAX_LINE_BYTES} bytes")
            start = len(self._buffer)
            if not self._fill():
                return None

    def exactly(self, size: int) -> bytes:
        while len(self._buffer) < size:
            if not self._fill():
                got = len(self._buffer)
                raise IncompleteRead(f"{got} bytes read, {size - got} more expected")
        data, self._buffer = self._buffer[:size], self._buffer[size:]
        return data

    def up_to(self, size: int) -> bytes:
        """What comes until the connection ends, at most `size` bytes."""
        while len(self._buffer) <= size and self._fill():
            pass
        data, self._buffer = self._buffer[:size], self._buffer[size:]
        return data

    @property
    def left_over(self) -> bool:
        return bool(self._buffer)


def _status(reader: _Reader) -> tuple[bytes, int]:
    line = reader.line()
    if line is None:
        raise RemoteDisconnected("the destination closed the connection without an answer")
    version, _, rest = line.partition(b" ")
    code = rest[:3]
    well_formed = len(code) == 3 and code.isdigit() and rest[3:4] in (b"", b" ")
    if not version.startswith(b"HTTP/1.") or not well_formed:
        raise BrokenAnswer(f"not an HTTP/1.1 status line: {line[:80]!r}")
    return version, int(code)


def _header_fields(reader: _Reader) -> list[tuple[str, str]]:
    fields: list[tuple[str, str]] = []
    while True:
        line = reader.line()
        if line is None:
            raise RemoteDisconnected("the destination closed the connection inside the answer's headers")
        if not line:
            return fields
        if line[:1] in (b" ", b"\t") and fields:
            # obs-fold (RFC 9112 5.2): a continuation of the previous field's value.
            name, value = fields[-1]
            fields[-1] = (name, f"{value} {line.strip().decode('latin-1')}")
            continue
        name, colon, value = line.partition(b":")
        if not colon or not _TOKEN(name):
            raise BrokenAnswer(f"not an HTTP header line: {line[:80]!r}")
        fields.append((name.decode("ascii"), value.strip().decode("latin-1")))
        if len(fields) > MAX_HEADERS:
            raise BrokenAnswer(f"the answer has more than {MAX_HEADERS} header fields")


def _values(fields: list[tuple[str, str]], lower_name: str) -> list[str]:
    return [
        part.strip()
        for name, value in fields
        if name.lower() == lower_name
        for part in value.split(",")
        if part.strip()
    ]


def _chunked(reader: _Reader, max_body: int) -> tuple[bytes, bool]:
    """The body of a chunked answer (at most `max_body` bytes) and whether it was read whole."""
    chunks: list[bytes] = []
    size_so_far = 0
    while True:
        line = reader.line()
        if line is None:
            raise IncompleteRead(f"{size_so_far} bytes read, the connection ended inside a chunked body")
        try:
            size = int(line.split(b";", 1)[0].strip(), 16)
        except ValueError:
            raise IncompleteRead(f"{size_so_far} bytes read, then a bad chunk size {line[:40]!r}") from None
        if size < 0:
            raise IncompleteRead(f"{size_so_far} bytes read, then a negative chunk size")
        if size == 0:
            while reader.line():  # trailer fields, not used
                pass
            return b"".join(chunks), True
        if size_so_far + size > max_body:
            chunks.append(reader.exactly(max_body - size_so_far))
            return b"".join(chunks), False
        chunks.append(reader.exactly(size))
        size_so_far += size
        if reader.line() != b"":
            raise IncompleteRead(f"{size_so_far} bytes read, then a chunk without its CRLF")


def exchange(sock: socket.socket, request: bytes, *, method: str, deadline: float, max_body: int) -> Answer:
    """Send `request` (from `encode_request`) and read its answer. Raises `Deadline`,
    `BrokenAnswer`, or the socket's OSError (TimeoutError when a write waits past the deadline)."""
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise Deadline
    sock.settimeout(remaining)
    sock.sendall(request)
    reader = _Reader(sock, deadline)
    version, status = _status(reader)
    while 100 <= status < 200 and status != 101:
        _header_fields(reader)  # an interim answer's fields: not the answer's
        version, status = _status(reader)
    fields = _header_fields(reader)
    connection = {token.lower() for token in _values(fields, "connection")}
    keep_alive = "close" not in connection and (version != b"HTTP/1.0" or "keep-alive" in connection)
    codings = [coding.lower() for coding in _values(fields, "transfer-encoding")]
    lengths = set(_values(fields, "content-length"))
    if method == "HEAD" or status in _NO_BODY_STATUSES or status == 101:
        body, whole = b"", status != 101
    elif codings and codings[-1] == "chunked":
        body, whole = _chunked(reader, max_body)
    elif lengths and not codings:
        if len(lengths) > 1 or not all(value.isdigit() for value in lengths):
            raise BrokenAnswer(f"the answer's Content-Length is not one length: {sorted(lengths)}")
        length = int(lengths.pop())
        body = reader.exactly(min(length, max_body))
        whole = length <= max_body
    else:
        # Nothing frames the body (or a coding other than chunked does): it ends with the
        # connection (RFC 9112 6.3), which is then spent.
        body, whole = reader.up_to(max_body), False
    return Answer(
        status=status,
        headers=dict(fields),
        body=body,
        reusable=whole and keep_alive and not reader.left_over and not reader.closed,
    )
