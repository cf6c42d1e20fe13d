"""Dashboard login codes: what `ferry dev` puts in the fragment of the `Dashboard:` URL.

A code is `<expiry>.<nonce>.<mac>`, the MAC an HMAC-SHA256 keyed with the API token, so only a
holder of the token can mint one and the API can check one without storing anything. The page
exchanges it once for the token (`POST /dashboard/session`); the token itself never appears in a
URL. Plain functions of their inputs: the use case adds the clock and the used-once memory.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

_PURPOSE = b"ferry-dashboard-login\n"
_EXPIRY = re.compile(r"[0-9]{1,12}")  # unix seconds; 12 digits reach beyond the year 30000


@dataclass(frozen=True)
class LoginCode:
    expires_at: int  # unix seconds
    nonce: str


def _mac(token: str, expires_at: int, nonce: str) -> str:
    message = _PURPOSE + f"{expires_at}.{nonce}".encode()
    digest = hmac.new(token.encode(), message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def mint_login_code(token: str, *, now: float, ttl_seconds: int, nonce: str | None = None) -> str:
    expires_at = int(now) + ttl_seconds
    nonce = nonce or secrets.token_urlsafe(12)
    return f"{expires_at}.{nonce}.{_mac(token, expires_at, nonce)}"


def read_login_code(token: str, code: str, *, now: float) -> LoginCode | None:
    """The code's contents if `token` minted it and it has not expired, else None."""
    parts = code.split(".")
    # Checked before int() and encode(), which would raise on "²", 5,000 digits or a lone surrogate:
    # whatever an unauthenticated caller sends is a code that is not valid, never an error.
    if len(parts) != 3 or not _EXPIRY.fullmatch(parts[0]) or not token:
        return None
    if not (parts[1].isascii() and parts[2].isascii()):
        return None
    expires_at, nonce, mac = int(parts[0]), parts[1], parts[2]
    if not hmac.compare_digest(mac.encode(), _mac(token, expires_at, nonce).encode()):
        return None
    if now >= expires_at:
        return None
    return LoginCode(expires_at=expires_at, nonce=nonce)
