"""Signing in to the dashboard with a one-time login code (see ferry.domain.dashboard_login)."""

from __future__ import annotations

import threading
from collections.abc import Callable

from ferry.domain.dashboard_login import mint_login_code, read_login_code
from ferry.domain.errors import Unauthorized
from ferry.usecases.ports import Clock

# Long enough to click the link `ferry dev` printed, short enough that a copied URL goes stale.
LOGIN_CODE_TTL_SECONDS = 600


class DashboardSignIn:
    """Mints login codes and redeems each one at most once per API process. The expiry bounds a
    code everywhere; the used-once memory is per process (one process in `ferry dev`)."""

    def __init__(
        self, *, api_token: Callable[[], str], clock: Clock, ttl_seconds: int = LOGIN_CODE_TTL_SECONDS
    ) -> None:
        self._api_token = api_token
        self._clock = clock
        self._ttl = ttl_seconds
        self._lock = threading.Lock()
        self._redeemed: dict[str, int] = {}  # nonce -> expiry, forgotten once expired

    def mint(self) -> str:
        return mint_login_code(self._api_token(), now=self._clock.now(), ttl_seconds=self._ttl)

    def redeem(self, code: str) -> str:
        """The API token, for a valid code not redeemed before; else Unauthorized."""
        token = self._api_token()
        now = self._clock.now()
        login = read_login_code(token, code, now=now)
        if login is None:
            raise Unauthorized("the login code is invalid or expired: sign in with the API token")
        with self._lock:
            self._redeemed = {n: exp for n, exp in self._redeemed.items() if exp > now}
            if login.nonce in self._redeemed:
                raise Unauthorized("the login code was already used: sign in with the API token")
            self._redeemed[login.nonce] = login.expires_at
        return token
