"""Destinations: rebuilt from the raw path like QStash, and refused when they point inwards (SSRF)."""

from __future__ import annotations

import pytest

from ferry.domain.destination import check_destination, destination_from_path, forbidden_address
from ferry.domain.errors import InvalidInput


def test_query_string_is_kept_and_ferry_parameters_are_removed():
    got = destination_from_path("https://example.com/a%20b", "x=1&qstash_token=t&upstash-retries=3&y=%20z")
    assert got == "https://example.com/a%20b?x=1&y=%20z"


def test_the_query_string_reaches_the_destination_byte_for_byte():
    # A signed URL's signature is over these exact bytes.
    got = destination_from_path("https://example.com/p", "sig=%ff%fe&flag&q=a%20b+c&Upstash-Delay=1s&e=")
    assert got == "https://example.com/p?sig=%ff%fe&flag&q=a%20b+c&e="
    assert destination_from_path("https://example.com/p", "upstash-retries=3&QSTASH_TOKEN=t") == (
        "https://example.com/p"
    )
    assert destination_from_path("https://e.com/p", "a=1&&b=2&") == "https://e.com/p?a=1&&b=2&"
    assert destination_from_path("https://e.com/p", "a=1&upstash-delay=1s&b=2") == "https://e.com/p?a=1&b=2"
    assert destination_from_path("https://e.com/p", "") == "https://e.com/p"
    assert destination_from_path("https://e.com/p", "&") == "https://e.com/p"


def test_collapsed_double_slash_after_the_scheme_is_repaired():
    assert destination_from_path("https:/example.com/x", "") == "https://example.com/x"


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/x",
        "http://localhost/x",
        "http://10.0.0.5/",
        "http://192.168.1.1/",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/",
        "http://[::ffff:10.0.0.1]/",
        "http://db.internal/",
    ],
)
def test_private_destinations_are_refused_in_the_cloud(url):
    with pytest.raises(InvalidInput, match=r"private|local"):
        check_destination(url, allow_private=False)


def test_private_destinations_are_allowed_in_dev():
    assert check_destination("http://127.0.0.1:8080/x", allow_private=True)


def test_public_addresses_pass():
    assert check_destination("https://93.184.216.34/hook", allow_private=False)
    assert not forbidden_address("8.8.8.8")
    assert forbidden_address("100.64.0.1")
    assert forbidden_address("224.0.0.1")
