"""SecretKeys: the API token and the signing keys, read from Secrets Manager through powertools
parameters (cached for `max_age` seconds so a warm Lambda does not pay a call per request)."""

from __future__ import annotations

import hmac
import threading
from typing import Any

from aws_lambda_powertools.utilities.parameters import SecretsProvider


class SecretKeys:
    def __init__(
        self, client: Any, *, api_token_secret: str, current_secret: str, next_secret: str, max_age: int
    ) -> None:
        self._provider = SecretsProvider(boto3_client=client)
        self._client = client
        self._api_token_secret = api_token_secret
        self._current_secret = current_secret
        self._next_secret = next_secret
        self._max_age = max_age
        # One fetch when the cache is cold: a dispatcher batch's deliveries all sign at once, and
        # would otherwise each call Secrets Manager (one request per record of the first batch).
        self._fetching = threading.Lock()

    def _get(self, secret_id: str) -> str:
        with self._fetching:
            value = self._provider.get(secret_id, max_age=self._max_age)
        return str(value).strip()

    def current(self) -> str:
        return self._get(self._current_secret)

    def next(self) -> str:
        return self._get(self._next_secret)

    def rotate(self, new_next: str) -> tuple[str, str]:
        """next becomes current, `new_next` becomes next. Current is written first: if the second
        write fails, current == next and every receiver holding the old pair still verifies."""
        promoted = self.next()
        self._client.put_secret_value(SecretId=self._current_secret, SecretString=promoted)
        self._client.put_secret_value(SecretId=self._next_secret, SecretString=new_next)
        self.clear_cache()
        return promoted, new_next

    def clear_cache(self) -> None:
        self._provider.clear_cache()

    def api_token(self) -> str:
        """The API token itself: the dashboard's sign-in hands it to the holder of a login code."""
        return self._get(self._api_token_secret)

    def is_valid(self, token: str) -> bool:
        expected = self._get(self._api_token_secret)
        return bool(token) and hmac.compare_digest(token.encode(), expected.encode())
