"""Issue 9, items 4 and 5: malformed destinations are refused at publish, in `ferry dev` too; every
numeric or IPv6-wrapped spelling of a private address is refused at publish, not only at delivery.
No test here opens a connection: these are pure checks of the URL text."""

from __future__ import annotations

import pytest

from ferry.domain.destination import check_destination, forbidden_address
from ferry.domain.errors import InvalidInput

MALFORMED = [
    "http://%zz/bad",
    "http://127.0.0.1%00.evil/bad",
    "http://127.0.0.1%20:19001/bad",
    "http://exa\u200bmple.com/zero-width-space",
    "http://b\u00c3\u00bccher.de/utf8-read-as-latin1",
    "http://a\u0000b.com/nul",
    "http://1.2.3.4.5/",
    "http://09/",
    "http://-lead.example.com/",
    "http://[::zz]/",
]


@pytest.mark.parametrize("url", MALFORMED)
@pytest.mark.parametrize("allow_private", [False, True], ids=["cloud", "dev"])
def test_a_malformed_destination_is_refused_naming_the_field(url, allow_private):
    with pytest.raises(InvalidInput) as refused:
        check_destination(url, allow_private=allow_private)
    assert refused.value.field == "destination"


@pytest.mark.parametrize(
    "url",
    [
        "https://b\u00fccher.de/idna",
        "https://xn--bcher-kva.de/punycode",
        "https://EXAMPLE.com./trailing-dot",
        "https://my_host.example.com/underscore",
        "https://[2606:4700::1111]/v6",
        "http://93.184.216.34:8080/",
    ],
)
def test_real_host_names_still_pass(url):
    assert check_destination(url, allow_private=False) == url


LOOPBACK_SPELLINGS = [
    "0x7f000001",
    "2130706433",
    "127.1",
    "0177.0.0.1",
    "0x7f.0.0.1",
    "017700000001",
    "127.000.000.001",
    "0",
    "\uff11\uff12\uff17.\uff10.\uff10.\uff11",  # fullwidth digits
    "127\u30020\u30020\u30021",  # ideographic full stops
    "[::ffff:0:7f00:1]",  # RFC 2765 IPv4-translated 127.0.0.1
    "[::ffff:0:a9fe:a9fe]",  # ... and 169.254.169.254
    "[::ffff:127.0.0.1]",
    "169.254.169.254",
]


@pytest.mark.parametrize("host", LOOPBACK_SPELLINGS)
def test_every_spelling_of_an_internal_address_is_refused_at_publish(host):
    with pytest.raises(InvalidInput) as refused:
        check_destination(f"http://{host}/x", allow_private=False)
    assert "private" in refused.value.message or "address" in refused.value.message


@pytest.mark.parametrize("address", ["::ffff:0:7f00:1", "::ffff:0:a9fe:a9fe", "::ffff:0:a00:1"])
def test_the_delivery_check_refuses_ipv4_translated_addresses(address):
    assert forbidden_address(address)


def test_a_public_ipv4_translated_address_is_not_refused_for_its_prefix():
    assert not forbidden_address("2606:4700::1111")


@pytest.mark.parametrize("resolved", [["::ffff:0:7f00:1"], ["93.184.216.34", "::ffff:0:a9fe:a9fe"]])
def test_delivery_refuses_a_name_resolving_to_an_ipv4_translated_internal_address(resolved):
    # A fake resolver: the adapter must refuse before it opens any connection.
    from ferry.adapters.http_target import HttpClientTarget
    from ferry.domain.delivery import DeliveryRequest

    target = HttpClientTarget(allow_private=False, resolver=lambda host, port: resolved)
    request = DeliveryRequest(
        method="POST", url="https://looks-public.example/", headers={}, body=b"", timeout_seconds=5
    )
    result = target.send(request)
    assert result.status is None and "SSRF protection" in result.error
