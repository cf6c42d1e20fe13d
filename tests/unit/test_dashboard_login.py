"""Dashboard login codes: minted with the API token, valid once, until they expire."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from ferry.api.app import build_api
from ferry.domain.dashboard_login import mint_login_code, read_login_code
from ferry.domain.errors import Unauthorized
from ferry.usecases.dashboard_sign_in import DashboardSignIn
from tests.support.api_events import http_event
from tests.support.clock import OffsetClock

TOKEN = "the-api-token"


def test_a_code_minted_with_the_token_reads_back_until_it_expires():
    code = mint_login_code(TOKEN, now=1000, ttl_seconds=60, nonce="n1")
    assert read_login_code(TOKEN, code, now=1059).nonce == "n1"
    assert read_login_code(TOKEN, code, now=1060) is None


@pytest.mark.parametrize(
    "mangle",
    [
        lambda code: code.replace("1060.", "9999."),  # a later expiry
        lambda code: code[:-2] + ("AA" if not code.endswith("AA") else "BB"),  # another MAC
        lambda code: code.rsplit(".", 1)[0],  # no MAC
        lambda code: "",
    ],
    ids=["extended", "forged-mac", "truncated", "empty"],
)
def test_a_changed_code_is_refused(mangle):
    code = mint_login_code(TOKEN, now=1000, ttl_seconds=60, nonce="n1")
    assert read_login_code(TOKEN, mangle(code), now=1001) is None


def test_a_code_minted_with_another_token_is_refused():
    code = mint_login_code("another-token", now=1000, ttl_seconds=60)
    assert read_login_code(TOKEN, code, now=1001) is None


def test_sign_in_hands_out_the_token_once_per_code():
    clock = OffsetClock()
    sign_in = DashboardSignIn(api_token=lambda: TOKEN, clock=clock, ttl_seconds=60)
    code = sign_in.mint()
    assert sign_in.redeem(code) == TOKEN
    with pytest.raises(Unauthorized, match="already used"):
        sign_in.redeem(code)
    assert sign_in.redeem(sign_in.mint()) == TOKEN  # a fresh code still works


def test_sign_in_refuses_an_expired_code():
    clock = OffsetClock()
    sign_in = DashboardSignIn(api_token=lambda: TOKEN, clock=clock, ttl_seconds=60)
    code = sign_in.mint()
    with clock.advanced(61), pytest.raises(Unauthorized, match="invalid or expired"):
        sign_in.redeem(code)


def test_ferry_dashboard_prints_a_link_whose_code_the_api_accepts(capsys):
    import time

    from ferry.cli import main

    assert main(["--url", "https://ferry.example/", "--token", TOKEN, "dashboard"]) == 0
    link = capsys.readouterr().out.strip().removeprefix("Dashboard: ")
    assert link.startswith("https://ferry.example/dashboard/#login=")
    code = link.split("#login=", 1)[1]
    assert read_login_code(TOKEN, code, now=time.time()) is not None
    assert read_login_code("another-token", code, now=time.time()) is None


# Codes that raised before the check (a 500 for whoever sent them).
RAISED = {
    "superscript": "\u00b2.n1.mac",  # str.isdigit() says yes, int() says no
    "5000-digits": "9" * 5000 + ".n1.mac",  # past Python's integer digit limit
    "surrogate-mac": "1060.n1.\ud800",  # a lone surrogate: it cannot be encoded
    "surrogate-nonce": "1060.\ud800.mac",
}
# Codes that were already refused, kept as a guard on the stricter check.
REFUSED_BEFORE = {
    "arabic-indic": "\u0661\u0662.n1.mac",  # digits int() would read as 12
    "13-digits": "9" * 13 + ".n1.mac",  # an expiry longer than unix seconds need
    "non-ascii": "1060.n\u00e9.mac",  # a nonce or MAC outside ASCII was never minted
    "sign": "+1060.n1.mac",
    "space": " 1060.n1.mac",
}


def _refused(code: str) -> None:
    assert read_login_code(TOKEN, code, now=1001) is None
    sign_in = DashboardSignIn(api_token=lambda: TOKEN, clock=OffsetClock(), ttl_seconds=60)
    with pytest.raises(Unauthorized, match="invalid or expired"):
        sign_in.redeem(code)


@pytest.mark.parametrize("code", RAISED.values(), ids=RAISED.keys())
def test_a_code_that_int_or_encode_would_choke_on_is_not_valid_rather_than_an_error(code):
    _refused(code)


@pytest.mark.parametrize("code", REFUSED_BEFORE.values(), ids=REFUSED_BEFORE.keys())
def test_a_code_of_any_other_shape_stays_not_valid(code):
    _refused(code)


@pytest.mark.parametrize("code", ["\u00b2.n1.mac", "9" * 5000 + ".n1.mac", "1.n.\\ud800"])
def test_an_unauthenticated_exchange_of_a_malformed_code_is_refused_never_a_500(code):
    sign_in = DashboardSignIn(api_token=lambda: TOKEN, clock=OffsetClock(), ttl_seconds=60)
    api = build_api(
        lambda: SimpleNamespace(keys=SimpleNamespace(is_valid=lambda t: False), dashboard_sign_in=sign_in)
    )
    body = '{"code": "' + code + '"}'  # the surrogate as the JSON escape a page would send
    answer = api.handle(http_event("POST", "/dashboard/session", body=body), None)
    # A wrong code is 401; a lone surrogate is not even valid JSON text (400, the body).
    assert answer["statusCode"] == (400 if "\\ud800" in code else 401), answer["body"]
    assert "error" in json.loads(answer["body"])
