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
- a status line or header that is not HTTP/1.0 or 1.1, more than `MAX_HEADERS` header lines
  (folded ones and trailers counted), a line over `MAX_LINE_BYTES`, a Content-Length that is
  not one plain number, a malformed chunk or a body cut short are `BrokenAnswer`s (a failed
  attempt a retry may mend);
- the connection is kept only when the answer was read to its end, framed one way (not chunked
  and a Content-Length, not chunked in HTTP/1.0), the destination did not ask to close, and
  nothing more than the answer arrived.
"""

from __future__ import annotations

import re
import socket
import time
from dataclasses import dataclass
from urllib.parse import quote

from ferry.domain.http_headers import TOKEN_CHARACTERS, is_field_value, is_token

# http.client's limits, which destinations have met so far.
MAX_LINE_BYTES = 65_536
MAX_HEADERS = 100
RECEIVE_BYTES = 65_536

# RFC 9110's syntax of a field name (a token) is the domain's, compiled here for the answers' bytes.
_ANSWER_FIELD_NAME = re.compile(f"[{TOKEN_CHARACTERS}]+".encode("ascii")).fullmatch
# RFC 9112 3.2: a request target with no whitespace or control characters.
_FORBIDDEN_IN_TARGET = re.compile(r"[\x00-\x20\x7f]").search
_NON_ASCII = re.compile(r"[^\x00-\x7f]+")
_FRAMING = frozenset({"content-length", "transfer-encoding"})
_NO_BODY_STATUSES = frozenset({204, 304})
_LENGTH = re.compile(r"[0-9]{1,18}").fullmatch
_CHUNK_SIZE = re.compile(rb"[0-9A-Fa-f]{1,16}").fullmatch


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
    """The request as it goes on the wire. `headers` carry Host; the framing is this function's:
    a Content-Length or Transfer-Encoding among `headers` is left out, and Content-Length is sent
    for every body, `b""` included (as http.client did); `None` is no body at all (a GET or HEAD).
    Non-ASCII characters of `target` go percent-encoded as UTF-8, as browsers and Go's net/url
    send them (QStash's own client); `%XX` already there stays as it is."""
    if not is_token(method):
        raise Unsendable(f"invalid method {method!r}")
    if not target.isascii():
        target = _NON_ASCII.sub(lambda found: quote(found.group(), safe=""), target)
    if _FORBIDDEN_IN_TARGET(target):
        raise Unsendable(f"the URL path {target!r} contains whitespace or control characters")
    lines = [f"{method} {target} HTTP/1.1".encode("ascii")]
    named: set[str] = set()
    for name, value in headers.items():
        # The domain's rules (the Attempt step checked them already; the port's contract is that
        # the adapter itself never writes what HTTP cannot carry).
        if not is_token(name):
            raise Unsendable(f"invalid header name {name!r}")
        if not is_field_value(value):
            raise Unsendable(
                f"invalid value of header {name}: CR, LF, NUL or other control characters, or "
                "characters outside Latin-1"
            )
        lower = name.lower()
        if lower in _FRAMING:
            continue  # a second framing would let the next request ride inside this body
        named.add(lower)
        # (A token is ASCII and a field value Latin-1: neither encoding can fail.)
        lines.append(name.encode("ascii") + b": " + value.encode("latin-1"))
    if "accept-encoding" not in named:
        # Without it a server may compress; the body is handed on as it came (http.client's default).
        lines.append(b"Accept-Encoding: identity")
    if body is None:
        return b"\r\n".join(lines) + b"\r\n\r\n"
    lines.append(b"Content-Length: %d" % len(body))
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


class _Reader:
    """Bytes from the socket, each receive waiting at most until the attempt's deadline (a
    destination that trickles bytes cannot hold the attempt past its timeout). What came and is
    not read yet is `_buffer[_start:]`: reads move the offset, not the bytes."""

    def __init__(self, sock: socket.socket, deadline: float) -> None:
        self._sock = sock
        self._deadline = deadline
        self._buffer = bytearray()
        self._start = 0
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
        if self._start > RECEIVE_BYTES:
            del self._buffer[: self._start]
            self._start = 0
        self._buffer += data
        return True

    def _available(self) -> int:
        return len(self._buffer) - self._start

    def _take(self, size: int) -> bytes:
        data = bytes(self._buffer[self._start : self._start + size])
        self._start += len(data)
        return data

    def line(self) -> bytes | None:
        """The next line without its CRLF (or LF); None if the connection ended first."""
        # How far past `_start` a newline was looked for already: relative, because `_fill` may
        # drop the bytes before `_start` and move everything down.
        searched = 0
        while True:
            end = self._buffer.find(b"\n", self._start + searched)
            if end >= 0:
                if end - self._start > MAX_LINE_BYTES:
                    raise BrokenAnswer(f"a line of the answer is over {MAX_LINE_BYTES} bytes")
                line = self._take(end + 1 - self._start)[:-1]
                return line[:-1] if line.endswith(b"\r") else line
            if self._available() > MAX_LINE_BYTES:
                raise BrokenAnswer(f"a line of the answer is over {MAX_LINE_BYTES} bytes")
            searched = self._available()
            if not self._fill():
                return None

    def exactly(self, size: int) -> bytes:
        while self._available() < size:
            if not self._fill():
                got = self._available()
                raise IncompleteRead(f"{got} bytes read, {size - got} more expected")
        return self._take(size)

    def up_to(self, size: int) -> bytes:
        """What comes until the connection ends, at most `size` bytes."""
        while self._available() <= size and self._fill():
            pass
        return self._take(size)

    @property
    def left_over(self) -> bool:
        return self._available() > 0


def _status(reader: _Reader) -> tuple[bytes, int]:
    line = reader.line()
    if line is None:
        raise RemoteDisconnected("the destination closed the connection without an answer")
    version, _, rest = line.partition(b" ")
    code = rest[:3]
    well_formed = len(code) == 3 and code.isdigit() and code[:1] != b"0" and rest[3:4] in (b"", b" ")
    if version not in (b"HTTP/1.0", b"HTTP/1.1") or not well_formed:
        raise BrokenAnswer(f"not an HTTP/1.1 status line: {line[:80]!r}")
    return version, int(code)


def _header_fields(reader: _Reader) -> list[tuple[str, str]]:
    """The header (or trailer) section's fields; every line counts against MAX_HEADERS, folded
    continuation lines too."""
    fields: list[tuple[str, list[str]]] = []
    for _ in range(MAX_HEADERS + 1):
        line = reader.line()
        if line is None:
            raise RemoteDisconnected("the destination closed the connection inside the answer's headers")
        if not line:
            return [(name, " ".join(parts)) for name, parts in fields]
        if line[:1] in (b" ", b"\t") and fields:
            # obs-fold (RFC 9112 5.2): a continuation of the previous field's value.
            fields[-1][1].append(line.strip().decode("latin-1"))
            continue
        name, colon, value = line.partition(b":")
        if not colon or not _ANSWER_FIELD_NAME(name):
            raise BrokenAnswer(f"not an HTTP header line: {line[:80]!r}")
        fields.append((name.decode("ascii"), [value.strip().decode("latin-1")]))
    raise BrokenAnswer(f"the answer has more than {MAX_HEADERS} header lines")


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
        digits = line.split(b";", 1)[0].rstrip(b" \t")
        if not _CHUNK_SIZE(digits):
            raise IncompleteRead(f"{size_so_far} bytes read, then a bad chunk size {line[:40]!r}")
        size = int(digits, 16)
        if size == 0:
            _header_fields(reader)  # the trailer section, not used (bounded as headers are)
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
        # Both framings, or a coding in HTTP/1.0 (RFC 9112 6.1, 6.3): read, but never trusted
        # to have left the connection at a message boundary.
        whole = whole and not lengths and version == b"HTTP/1.1"
    elif lengths and not codings:
        if len(lengths) > 1 or not all(_LENGTH(value) for value in lengths):
            raise BrokenAnswer(f"the answer's Content-Length is not one length: {sorted(lengths)[:3]}")
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
