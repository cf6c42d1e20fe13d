"""Names and header fields are checked against the whole string.

`re.match` with a pattern ending in `$` also accepts the string followed by one newline ("orders\\n"
passed for a URL group name, "X-Name\\n" for a header name, a workflowRunId with a newline for a
run id). Each check below must refuse that form and accept the plain one.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from ferry.adapters.http_exchange import Unsendable, encode_request
from ferry.domain.errors import InvalidInput
from ferry.domain.flow_control import check_key
from ferry.domain.http_headers import check_field, is_field_value, is_token
from ferry.domain.queues import check_queue_name
from ferry.domain.url_groups import check_group_name
from ferry.domain.workflow_bodies import parse_invoke


def _invoke(run_id: str) -> None:
    body = {
        "workflowRunId": run_id,
        "workflowUrl": "http://127.0.0.1:9/wf",
        "headers": {},
        "step": {"stepId": 1, "stepName": "child"},
        "body": "",
    }
    parse_invoke(json.dumps(body).encode())


CHECKS: dict[str, tuple[Callable[[str], object], str]] = {
    "URL group name": (check_group_name, "orders"),
    "flow-control key": (lambda key: check_key(key, field="Upstash-Flow-Control-Key"), "tenant-1"),
    "queue name": (check_queue_name, "emails"),
    "invoked run id": (_invoke, "wfr_parent"),
    "header name": (lambda name: check_field(name, "1"), "X-Name"),
    "header value": (lambda value: check_field("X-Name", value), "value"),
}


@pytest.mark.parametrize("what", CHECKS)
def test_a_name_followed_by_a_newline_is_refused(what):
    check, plain = CHECKS[what]
    check(plain)
    with pytest.raises(InvalidInput):
        check(plain + "\n")


@pytest.mark.parametrize("text", ["X-Name\n", "X Name", "X:Name", "", "Ümlaut"])
def test_only_a_whole_token_is_a_token(text):
    assert not is_token(text)


@pytest.mark.parametrize("text", ["v\n", "v\r", "v\x00", "v\x01", "v\x7f", "☃"])
def test_a_field_value_has_no_control_characters_and_stays_in_latin_1(text):
    assert not is_field_value(text)
    assert is_field_value("tab\tand café")


@pytest.mark.parametrize("headers", [{"X-Name\n": "1"}, {"X-Name": "bell\x07"}, {"X-Name": "del\x7f"}])
def test_the_wire_refuses_what_the_domain_refuses(headers):
    # The exchange applies the domain's field rules itself, not a looser copy of its own.
    with pytest.raises(Unsendable):
        encode_request("POST", "/", {"Host": "h", **headers}, b"")
