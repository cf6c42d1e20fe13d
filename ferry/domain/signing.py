"""`Upstash-Signature`: the HS256 JWT every delivery carries, exactly as `qstash.Receiver` checks it.

Claims: iss="Upstash", sub=the URL the request goes to, iat/exp (5-minute lifetime), nbf=0 (as
QStash sends since 2024-09, so small clock skew never rejects a delivery), jti, and
body=base64url(SHA-256(body)). The HMAC secret is the key string's UTF-8 bytes.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets

_HEADER = {"alg": "HS256", "typ": "JWT"}


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def body_hash(body: bytes) -> str:
    return _b64url(hashlib.sha256(body).digest())


def new_jti() -> str:
    return "jwt_" + secrets.token_hex(16)


def sign(
    *, key: str, url: str, body: bytes, now: float, lifetime_seconds: int = 300, jti: str | None = None
) -> str:
    # iat is floored: PyJWT rejects a token issued in the receiver's future.
    issued_at = int(now)
    claims = {
        "iss": "Upstash",
        "sub": url,
        "exp": issued_at + lifetime_seconds,
        "nbf": 0,
        "iat": issued_at,
        "jti": jti or new_jti(),
        "body": body_hash(body),
    }
    signing_input = (
        _b64url(json.dumps(_HEADER, separators=(",", ":")).encode())
        + "."
        + _b64url(json.dumps(claims, separators=(",", ":")).encode())
    )
    signature = hmac.new(key.encode("utf-8"), signing_input.encode("ascii"), hashlib.sha256).digest()
    return signing_input + "." + _b64url(signature)


def new_signing_key(length: int = 40) -> str:
    """A fresh key: `sig_` plus random base62-ish characters, long enough for PyJWT's HS256 check."""
    return "sig_" + secrets.token_urlsafe(length)[: max(length - 4, 28)]
