"""The emulator finds the service of an AWS call once per endpoint, not on every call.

moto routes each in-process call by trying every service's URL pattern in turn (184 of them in
moto 5.2) until one matches: 13 µs for a DynamoDB call and 41 µs for an SQS one idle, about
three times that under `ferry dev`'s load, on every call. Here the index of the first pattern
that matches an endpoint is remembered, and moto's loop starts there: the patterns before it
never matched that URL, so moto tries the same patterns from the same place and routes the call
as it did (a service that does not take the URL still hands it on to the patterns after it).

The starting place is handed to moto's loop through the calling thread, and only to the first
walk of the list inside the call: any other walk (moto's `get_service_from_url`, the mock's
start) still sees every pattern.

Also: moto draws each request id (52 characters) and each SQS receipt handle (185) one
`random.choice` at a time, 16 µs and 75 µs; here with one `choices` call on the same random
source (the same alphabet and length; from a seeded source, other values than moto's: ferry dev
never seeds it, and serves no moto API that could).
"""

from __future__ import annotations

import functools
import itertools
import os
import string
import threading
from collections.abc import Iterator
from typing import Any

_start = threading.local()
RECEIPT_HANDLE_LENGTH = 185  # moto's, after SQS's documented receipt handles
S3_ENDPOINTS = "MOTO_S3_CUSTOM_ENDPOINTS"  # moto maps these hosts to S3's before matching


class _Patterns(list):
    """moto's list of (service, URL pattern). The first walk of it inside a routed call starts
    at that call's remembered place; every other walk sees the whole list."""

    def __iter__(self) -> Iterator[Any]:
        start = getattr(_start, "index", 0)
        _start.index = 0
        whole = list.__iter__(self)
        return itertools.islice(whole, start, None) if start else whole


def route_each_endpoint_once() -> None:
    """Idempotent; applied when the emulator starts."""
    import moto.backend_index as backend_index
    import moto.sqs.models as sqs_models
    from moto.core.botocore_stubber import BotocoreStubber
    from moto.core.utils import get_equivalent_url_in_aws_domain
    from moto.moto_api._internal.moto_random import MotoRandom

    if isinstance(backend_index.backend_url_patterns, _Patterns):
        return
    patterns = _Patterns(backend_index.backend_url_patterns)
    backend_index.backend_url_patterns = patterns

    @functools.lru_cache(maxsize=4096)  # endpoints are few; S3 object URLs are not, hence bounded
    def first_match(url: str, s3_endpoints: str | None) -> int:
        # The URL moto matches: its host in the standard AWS domain (custom S3 endpoints, read
        # from the environment on each call, hence part of the key), without the query.
        parsed, _ = get_equivalent_url_in_aws_domain(url)
        clean = f"{parsed.scheme}://{parsed.netloc}{parsed.path}"
        walk = enumerate(list.__iter__(patterns))  # the whole list, not a routed call's part
        return next((i for i, (_, pattern) in walk if pattern.match(clean)), len(patterns))

    process_request = BotocoreStubber.process_request

    @functools.wraps(process_request)
    def routed(self: Any, request: Any) -> Any:
        outer = getattr(_start, "index", 0)
        _start.index = first_match(request.url.partition("?")[0], os.environ.get(S3_ENDPOINTS))
        try:
            return process_request(self, request)
        finally:
            _start.index = outer

    BotocoreStubber.process_request = routed

    def get_random_string(
        self: MotoRandom, length: int = 20, include_digits: bool = True, lower_case: bool = False
    ) -> str:
        pool = string.ascii_letters + (string.digits if include_digits else "")
        drawn = "".join(self.choices(pool, k=length))
        return drawn.lower() if lower_case else drawn

    MotoRandom.get_random_string = get_random_string  # type: ignore[method-assign]
    random = sqs_models.random

    def generate_receipt_handle() -> str:
        return "".join(random.choices(string.ascii_lowercase, k=RECEIPT_HANDLE_LENGTH))

    sqs_models.generate_receipt_handle = generate_receipt_handle
