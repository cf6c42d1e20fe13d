"""Destination URLs: rebuilding them from the request path, validating them, and the SSRF rule.

SSRF protection has two halves: `check_destination` refuses literal private addresses and local
host names at publish time (a clear 400), and the HTTP adapter calls `forbidden_address` on every
address a host name resolves to right before connecting (so DNS cannot point us inwards later).
Only `ferry dev` allows private destinations.
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import parse_qsl, urlencode, urlsplit

from ferry.domain.errors import InvalidInput

MAX_URL_LENGTH = 2048
# Query parameters that configure Ferry itself; they never reach the destination.
_CONFIG_QUERY = re.compile(r"^(qstash_token|upstash-.*)$", re.IGNORECASE)
# Some HTTP stacks collapse `//` in a path; `https:/host` can only have meant `https://host`.
_COLLAPSED_SCHEME = re.compile(r"^(https?):/(?!/)", re.IGNORECASE)


def destination_from_path(raw_rest: str, raw_query: str) -> str:
    """The destination as the SDKs send it: unencoded after the route prefix, its query string
    arriving as the request's query string (minus Ferry's own configuration parameters)."""
    rest = _COLLAPSED_SCHEME.sub(lambda m: m.group(1) + "://", raw_rest)
    kept = [(k, v) for k, v in parse_qsl(raw_query, keep_blank_values=True) if not _CONFIG_QUERY.match(k)]
    if kept:
        return rest + "?" + urlencode(kept, doseq=True, safe="/:@!$'()*,;")
    return rest


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
    if any(ch.isspace() for ch in url):
        raise InvalidInput(f"{field} {url!r} contains white space; percent-encode it", field=field)
    if not allow_private:
        if host.lower() == "localhost" or host.lower().endswith((".localhost", ".local", ".internal")):
            raise InvalidInput(
                f"{field} {url!r} points at a local host name; Ferry only delivers to public hosts "
                "(loopback and private networks are allowed in `ferry dev` only)",
                field=field,
            )
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            address = None
        if address is not None and forbidden_address(str(address)):
            raise InvalidInput(
                f"{field} {url!r} points at a private, loopback or link-local address; Ferry only "
                "delivers to public addresses (allowed in `ferry dev` only)",
                field=field,
            )
    return url


# IPv6 prefixes that carry an IPv4 address in their last 32 bits (NAT64, IPv4-compatible).
_EMBEDDING_V4 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("::/96"))
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
