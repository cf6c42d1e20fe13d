"""InMemoryKeys: the API token and the signing key pair."""

from __future__ import annotations

import hmac


class InMemoryKeys:
    def __init__(self, *, current: str = "sig_current", next: str = "sig_next", api_token: str = "token"):
        self._current, self._next, self._token = current, next, api_token

    def current(self) -> str:
        return self._current

    def next(self) -> str:
        return self._next

    def rotate(self, new_next: str) -> tuple[str, str]:
        self._current, self._next = self._next, new_next
        return self._current, self._next

    def is_valid(self, token: str) -> bool:
        return bool(token) and hmac.compare_digest(token.encode(), self._token.encode())
