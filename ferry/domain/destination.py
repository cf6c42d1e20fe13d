"""Destination URLs: rebuilding them from the request path, validating them, and the SSRF rule.

SSRF protection has two halves: `check_destination` refuses literal private addresses and local
host names at publish time (a clear 400), and the HTTP adapter calls `forbidden_address` on every
address a host name resolves to right before connecting (so DNS cannot point us inwards later).
Only `ferry dev` allows private destinations.
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from urllib.parse import unquote_plus, urlsplit

from ferry.domain.errors import InvalidInput

MAX_URL_LENGTH = 2048
# Query parameters that configure Ferry itself; they never reach the destination.
_CONFIG_QUERY = re.compile(r"^(qstash_token|upstash-.*)$", re.IGNORECASE)
# Some HTTP stacks collapse `//` in a path; `https:/host` can only have meant `https://host`.
_COLLAPSED_SCHEME = re.compile(r"^(https?):/(?!/)", re.IGNORECASE)


def destination_from_path(raw_rest: str, raw_query: str) -> str:
    """The destination as the SDKs send it: unencoded after the route prefix, its query string
    arriving as the request's query string (minus Ferry's own configuration parameters). The
    parameters kept go on byte for byte: decoded and encoded again, a signed URL's `%ff`, a bare
    `flag` or a `%20` would reach the destination changed (as U+FFFD, `flag=`, `+`)."""
    rest = _COLLAPSED_SCHEME.sub(lambda m: m.group(1) + "://", raw_rest)
    kept = [
        pair
        for pair in raw_query.split("&")
        if not (pair and _CONFIG_QUERY.fullmatch(unquote_plus(pair.partition("=")[0])))
    ]
    # Empty pairs (`a=1&&b=2&`) stay where they were, unless nothing else is left.
    return rest + "?" + "&".join(kept) if any(kept) else rest


def is_url(destination: str) -> bool:
    return destination.lower().startswith(("http://", "https://"))


def check_destination(url: str, *, allow_private: bool, field: str = "destination") -> str:
    """Validate an absolute http(s) URL; returns it unchanged or raises InvalidInput."""
    if not url:
        raise InvalidInput(f"{field} is missing: put the absolute http(s) URL after the route", field=field)
    if len(url) > MAX_URL_LENGTH:
        raise InvalidInput(f"{field} is longer than {MAX_URL_LENGTH} characters", field=field)
    if not is_url(url):
        raise InvalidInput(
            f"{field} {url!r} is not an absolute http(s) URL (it must start with http:// or https://)",
            field=field,
        )
    try:
        parts = urlsplit(url)
        host = parts.hostname
        _ = parts.port  # raises ValueError on a bad port
    except ValueError as exc:
        raise InvalidInput(f"{field} {url!r} is not a valid URL: {exc}", field=field) from exc
    if not host:
        raise InvalidInput(f"{field} {url!r} has no host name", field=field)
    if any(ch.isspace() or unicodedata.category(ch) in _INVISIBLE for ch in url):
        raise InvalidInput(
            f"{field} {url!r} contains white space or control characters; percent-encode them", field=field
        )
    host = canonical_host(host, url=url, field=field)
    if not allow_private:
        if host == "localhost" or host.endswith((".localhost", ".local", ".internal")):
            raise InvalidInput(
                f"{field} {url!r} points at a local host name; Ferry only delivers to public hosts "
                "(loopback and private networks are allowed in `ferry dev` only)",
                field=field,
            )
        address = ip_literal(host)
        if address is not None and forbidden_address(str(address)):
            raise InvalidInput(
                f"{field} {url!r} points at a private, loopback or link-local address; Ferry only "
                "delivers to public addresses (allowed in `ferry dev` only)",
                field=field,
            )
    return url


# Control, format (zero-width space, bidi marks) and separator characters: never part of a URL.
_INVISIBLE = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp", "Zs"})
# Dots IDNA treats as the label separator (ideographic, fullwidth, halfwidth ideographic).
_DOTS = str.maketrans({"\u3002": ".", "\uff0e": ".", "\uff61": "."})
# A DNS label after IDNA encoding: letters, digits, hyphens (underscores occur in real names).
_LABEL = re.compile(r"^(?!-)[a-z0-9_-]{1,63}(?<!-)$")
# Letters, marks and decimal digits: what an internationalized label is made of. Anything else
# (e.g. `¼` in `bÃ¼cher`, UTF-8 read as Latin-1) is a garbled name, not one to encode.
_IDN_CATEGORIES = ("L", "M", "Nd")


def canonical_host(host: str, *, url: str, field: str) -> str:
    """The host as a connection would use it: lower case, IDNA (punycode) for international names,
    an IP literal for every numeric spelling of an IPv4 address. Refuses what is no host name."""
    if host.startswith("[") or ":" in host:
        try:
            return str(ipaddress.IPv6Address(host.strip("[]")))
        except ValueError:
            raise InvalidInput(f"{field} {url!r} has an invalid IPv6 address", field=field) from None
    if "%" in host:
        raise InvalidInput(f"{field} {url!r}: percent-encoding is not allowed in a host name", field=field)
    name = unicodedata.normalize("NFKC", host.translate(_DOTS)).lower().rstrip(".")
    if not name.isascii():
        if not all(
            ch == "." or unicodedata.category(ch).startswith(_IDN_CATEGORIES) or ch == "-" for ch in name
        ):
            raise InvalidInput(f"{field} {url!r} has characters no host name can contain", field=field)
        try:
            name = name.encode("idna").decode("ascii")
        except UnicodeError:
            raise InvalidInput(f"{field} {url!r} has a host name IDNA cannot encode", field=field) from None
    labels = name.split(".")
    if labels and _NUMERIC_PART.fullmatch(labels[-1]):
        address = _ipv4_numbers(labels)
        if address is None:
            raise InvalidInput(f"{field} {url!r} has an invalid IPv4 address", field=field)
        return str(address)
    if not all(_LABEL.fullmatch(label) for label in labels):
        raise InvalidInput(f"{field} {url!r} has an invalid host name", field=field)
    return name


# WHATWG URL: a host whose last label is a number (decimal, 0x-hex or 0-octal) is an IPv4 address,
# in any of inet_aton's spellings (`2130706433`, `0x7f.1`, `0177.0.0.1`, `127.1`).
_NUMERIC_PART = re.compile(r"^(0x[0-9a-f]*|[0-9]+)$")


def _ipv4_numbers(labels: list[str]) -> ipaddress.IPv4Address | None:
    if len(labels) > 4 or not all(_NUMERIC_PART.fullmatch(p) for p in labels):
        return None
    numbers = []
    for part in labels:
        if part.startswith("0x"):
            numbers.append(int(part[2:] or "0", 16))
        elif len(part) > 1 and part.startswith("0"):
            if not set(part) <= set("01234567"):
                return None
            numbers.append(int(part, 8))
        else:
            numbers.append(int(part))
    *head, last = numbers
    if any(n > 255 for n in head) or last >= 256 ** (5 - len(numbers)):
        return None
    value = last
    for index, n in enumerate(head):
        value += n << (8 * (3 - index))
    return ipaddress.IPv4Address(value)


def ip_literal(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


# IPv6 prefixes that carry an IPv4 address in their last 32 bits: NAT64, IPv4-compatible, and
# RFC 2765's IPv4-translated `::ffff:0:0:0/96` (not the mapped `::ffff:0:0/96`, which ipaddress knows).
_EMBEDDING_V4 = (
    ipaddress.ip_network("64:ff9b::/96"),
    ipaddress.ip_network("::/96"),
    ipaddress.ip_network("::ffff:0:0:0/96"),
)
# Local-use NAT64 (RFC 8215): translated inside the operator's network, so never a public target.
_LOCAL_NAT64 = ipaddress.ip_network("64:ff9b:1::/48")


def forbidden_address(address: str) -> bool:
    """True for addresses a cloud deployment must never connect to (metadata service included),
    also when an IPv6 address wraps such an IPv4 address (mapped, 6to4, Teredo, NAT64, compat)."""
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip in _LOCAL_NAT64:
        return True
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.ipv4_mapped or ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
        if embedded is None and any(ip in net for net in _EMBEDDING_V4) and int(ip) > 1:
            embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if embedded is not None and forbidden_address(str(embedded)):
            return True
    return not ip.is_global or ip.is_multicast
