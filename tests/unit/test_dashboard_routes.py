"""The dashboard's files are served by the API handler without a token, from the package (so the
Lambda layer carries them); everything under /v2 still needs the token."""

from __future__ import annotations

import json
import pathlib
from types import SimpleNamespace

import pytest

from ferry.api import dashboard
from ferry.api.app import build_api
from ferry.usecases.dashboard_sign_in import DashboardSignIn
from layers.ferry.build_layer import copy_package
from tests.support.api_events import http_event
from tests.support.clock import OffsetClock

ROOT = pathlib.Path(__file__).resolve().parents[2]
TOKEN = "the-api-token"
SERVICES = SimpleNamespace(
    keys=SimpleNamespace(is_valid=lambda token: token == TOKEN),
    dashboard_sign_in=DashboardSignIn(api_token=lambda: TOKEN, clock=OffsetClock()),
    dead_letters=SimpleNamespace(list=lambda query: ([], None)),
)
API = build_api(lambda: SERVICES)


def call(path: str, method: str = "GET", body: bytes | None = None, token: str | None = None) -> dict:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return API.handle(http_event(method, path, headers=headers, body=body), None)


@pytest.mark.parametrize("path", ["/dashboard", "/dashboard/", "/dashboard/assets/app.js"])
def test_the_page_and_its_files_need_no_token_and_carry_a_strict_policy(path):
    response = call(path)
    assert response["statusCode"] == 200
    headers = {k.lower(): v for k, v in response["headers"].items()}
    assert headers["content-security-policy"] == dashboard.CONTENT_SECURITY_POLICY
    assert headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize(
    "path", ["/v2/dlq", "/v2/events", "/dashboard/../v2/dlq", "/dashboardx", "/dashboard/assets/../../v2/dlq"]
)
def test_data_and_lookalike_paths_still_need_the_token(path):
    assert call(path)["statusCode"] == 401


def test_the_same_data_call_answers_with_the_token():
    assert call("/v2/dlq", token=TOKEN)["statusCode"] == 200


def test_a_login_code_is_exchanged_for_the_token_once_and_never_cached():
    code = json.dumps({"code": SERVICES.dashboard_sign_in.mint()}).encode()
    first = call("/dashboard/session", "POST", code)
    assert first["statusCode"] == 200
    assert json.loads(first["body"]) == {"token": TOKEN}
    assert first["headers"]["Cache-Control"] == "no-store"
    assert call("/dashboard/session", "POST", code)["statusCode"] == 401


@pytest.mark.parametrize("body", [b"", b"[]", b'{"code": "x", "token": "y"}', b'{"code": 1}'])
def test_a_malformed_exchange_is_refused_with_a_field(body):
    answer = call("/dashboard/session", "POST", body)
    assert answer["statusCode"] == 400
    assert "field" in json.loads(answer["body"])


def test_an_api_this_ferry_lacks_answers_404_even_with_a_query():
    # The dashboard's queues and workflow views show an empty state on exactly this answer.
    assert call("/v2/not-built-yet?count=20", token=TOKEN)["statusCode"] == 404


def test_only_shipped_files_are_served():
    assert call("/dashboard/assets/__init__.py")["statusCode"] == 404
    assert call("/dashboard/assets/missing.js")["statusCode"] == 404


def test_the_page_has_no_inline_script_or_style():
    html = (ROOT / "ferry" / "dashboard" / "index.html").read_text()
    assert "<script>" not in html and "<style" not in html and " style=" not in html and "onclick" not in html


def test_every_module_the_page_imports_is_shipped():
    shipped = dashboard.asset_names()
    for name in shipped:
        if name.endswith(".js"):
            for line in (ROOT / "ferry" / "dashboard" / name).read_text().splitlines():
                if line.startswith("import ") and ' from "./' in line:
                    assert line.split('"./')[1].split('"')[0] in shipped, f"{name}: {line}"


def test_the_package_data_and_the_layer_carry_the_dashboard(tmp_path):
    pyproject = (ROOT / "pyproject.toml").read_text()
    for pattern in ("dashboard/*.html", "dashboard/*.js", "dashboard/*.css"):
        assert f'"{pattern}"' in pyproject
    copied = copy_package(ROOT / "ferry", tmp_path)
    files = {p.name for p in (copied / "dashboard").iterdir()}
    assert {"index.html", "app.js", "dashboard.css"} <= files
    assert dashboard.asset_names() <= files
