"""Issue 9's malformed-request matrix against a real `ferry dev` stack (real API handler, moto):
bad URLs, unicode, invalid delays/retries/expressions, negative and huge numbers, bad JSON, 2 MB
and 10 MB bodies, wrong methods, unknown paths, bad cron, bad filters, and typos in bulk bodies.

Every request must be refused with a 4xx JSON error carrying `error`, and change nothing: the
seeded pending messages stay pending, the DLQ entry stays, no message is stored for the matrix
destinations, URL groups and schedules stay as they were.

Requests go over a raw socket so that what no HTTP library would send (a space in a header name)
can be sent too. Gateway-level limits (huge or many headers, unknown methods) are the front end's
(issue 9 item 12) and are tested with `ferry dev` itself.
"""

from __future__ import annotations

import json
import socket
import time
import urllib.parse
from dataclasses import dataclass

import pytest

from tests.support.pending import stored_envelopes_naming
from tests.support.target import Reply

MATRIX_PATH = "/matrix-dest"


@dataclass(frozen=True)
class Case:
    name: str
    method: str
    target: str
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = ()
    # A batch answers 200 with one slot per item; a refused item's slot carries the error.
    batch_item_refused: bool = False
    # The exact status, where the issue names one (otherwise any 4xx).
    status: int | None = None


def raw_request(url: str, case: Case, token: str) -> tuple[int, dict[str, str], bytes]:
    parts = urllib.parse.urlsplit(url)
    head = [f"{case.method} {case.target} HTTP/1.1", f"Host: {parts.netloc}", "Connection: close"]
    head.append(f"Authorization: Bearer {token}")
    head += [f"{name}: {value}" for name, value in case.headers]
    if case.body or case.method in ("POST", "PUT", "PATCH", "DELETE"):
        head.append(f"Content-Length: {len(case.body)}")
    data = ("\r\n".join(head) + "\r\n\r\n").encode("utf-8") + case.body
    with socket.create_connection((parts.hostname, parts.port), timeout=30) as sock:
        sock.sendall(data)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    raw = b"".join(chunks)
    header_block, _, body = raw.partition(b"\r\n\r\n")
    lines = header_block.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    return status, headers, body


def _json(obj: object) -> bytes:
    return json.dumps(obj).encode()


JSON = (("Content-Type", "application/json"),)
DEEP = b"[" * 100_000 + b"]" * 100_000


def bulk_cases() -> list[Case]:
    """Finding 1 and 2: a typo, a wrong type or an empty value never means "all"."""
    cases = []
    bodies = {
        "singular-key": b'{"messageId": ["msg_x"]}',
        "dlq-singular-key": b'{"dlqId": ["dlq_x"]}',
        "ids-empty-string": b'{"IDS": ""}',
        "ids-string": b'{"IDS": "msg_abc"}',
        "ids-number": b'{"IDS": 5}',
        "ids-empty-list": b'{"IDS": []}',
        "ids-empty-id": b'{"IDS": [""]}',
        "ids-number-items": b'{"IDS": [1, 2]}',
        "ids-null": b'{"IDS": null}',
        "ids-object": b'{"IDS": {"a": 1}}',
        "ids-and-unknown-key": b'{"IDS": ["x"], "all": true}',
        "empty-object": b"{}",
        "null": b"null",
        "array": b"[]",
        "string": b'"all"',
        "number": b"7",
        "bool": b"true",
        "not-json": b"{messageIds: [x]}",
        "truncated-json": b'{"IDS": ["x"',
        "deep-nesting": DEEP,
    }
    for route, method, key in (
        ("/v2/messages", "DELETE", "messageIds"),
        ("/v2/dlq", "DELETE", "dlqIds"),
        ("/v2/dlq/retry", "POST", "dlqIds"),
    ):
        for name, body in bodies.items():
            cases.append(
                Case(f"{method} {route} {name}", method, route, body.replace(b"IDS", key.encode()), JSON)
            )
        cases.append(
            Case(f"{method} {route} text-body", method, route, b"all", (("Content-Type", "text/plain"),))
        )
        cases.append(Case(f"{method} {route} empty-id-query", method, f"{route}?{key}="))
    return cases


FILTERS = [
    "state=NOTASTATE",
    "state=%25ZZ%25",
    "state=",
    "state=in_progre%C5%BFs",  # a long s: upper() would make it IN_PROGRESS
    "responseStatus=abc",
    "responseStatus=99999",
    "order=sideways",
    "order=earliestFirst",
    "fromDate=" + "9" * 40,
    "fromDate=abc",
    "fromDate=-5",
    "fromDate=2000&toDate=1000",
    "toDate=1.5",
    "count=0",
    "count=-1",
    "count=abc",
    "count=1_0",
    "fromDate=1_000",
    "responseStatus=2_00",
    "count=100000",
    "cursor=abc",
    "cursor=-1",
    "messageid=msg_x",
    "urlGroup=g",
    "bogus=1",
]


def filter_cases() -> list[Case]:
    """Finding 6: a filter that cannot match is refused, not an empty 200 (or, for a bulk cancel,
    a widened selection)."""
    cases = []
    for route, method, accepts in (
        ("/v2/events", "GET", {"state"}),
        ("/v2/dlq", "GET", {"responseStatus"}),
        ("/v2/messages", "DELETE", {"state"}),
        ("/v2/dlq", "DELETE", {"responseStatus"}),
    ):
        for query in FILTERS:
            name = query.split("=")[0]
            if name in ("state", "responseStatus") and name not in accepts:
                continue  # a parameter the route does not have is covered by `bogus=1`
            cases.append(Case(f"{method} {route}?{query}", method, f"{route}?{query}"))
    return cases


def publish_cases(target_base: str) -> list[Case]:
    dest = target_base + MATRIX_PATH
    cases = []
    for url in (
        "http://%zz/bad",
        "http://127.0.0.1%00.evil/bad",
        "http://127.0.0.1%20:19001/bad",
        "http://exa%E2%80%8Bmple.com/x",
        "ftp://example.com/x",
        "http:/",
        "http://",
        "http://[::zz]/x",
        "http://1.2.3.4.5/x",
        "http://host:99999/x",
        "http://host:abc/x",
        "not-a-url-or-group!",
        "javascript:alert(1)",
    ):
        cases.append(Case(f"publish to {url}", "POST", "/v2/publish/" + url, b"x"))
    bad_headers = {
        "Upstash-Retries": ["-1", "99999999999999999999", "abc", "1.5", "21"],
        "Upstash-Delay": ["-5s", "1000000d", "abc", "10x", "1e9s"],
        "Upstash-Not-Before": ["abc", "1.5"],
        "Upstash-Timeout": ["0", "abc", "-1s", "100000s"],
        "Upstash-Retry-Delay": ["__import__('os')", "pow(2,", "retried ** ", "x" * 300],
        "Upstash-Method": ["FOO", "GET POST"],
        "Upstash-Callback": ["not a url", "http://%zz/cb"],
        "Upstash-Flow-Control-Key": ["bad key!"],
        "Upstash-Label": ["bad label!"],
        "Upstash-Redact-Fields": ["nope"],
        "Upstash-Cron": ["* * * * *"],
        "Upstash-Content-Based-Deduplication": ["maybe"],
    }
    for header, values in bad_headers.items():
        for value in values:
            cases.append(
                Case(
                    f"publish {header}: {value[:20]}", "POST", "/v2/publish/" + dest, b"x", ((header, value),)
                )
            )
    cases.append(
        Case(
            "publish flow-control value without key's numbers",
            "POST",
            "/v2/publish/" + dest,
            b"x",
            (("Upstash-Flow-Control-Key", "k"), ("Upstash-Flow-Control-Value", "parallelism=-1")),
        )
    )
    # Header names and values that HTTP/1.1 cannot carry are sent inside batch JSON (below): on the
    # wire, the front end parses them first (and UTF-8 bytes arrive as Latin-1 obs-text, which is
    # valid and forwarded byte for byte).
    cases.append(Case("publish 2 MB body", "POST", "/v2/publish/" + dest, b"x" * 2_000_000))
    cases.append(Case("publish 10 MB body", "POST", "/v2/publish/" + dest, b"x" * 10_000_000))
    cases.append(Case("enqueue bad queue name", "POST", "/v2/enqueue/bad%20queue!/" + dest, b"x"))
    cases.append(
        Case("enqueue with delay", "POST", "/v2/enqueue/q1/" + dest, b"x", (("Upstash-Delay", "10s"),))
    )
    return cases


def batch_cases(target_base: str) -> list[Case]:
    dest = target_base + MATRIX_PATH
    cases = []
    whole = {
        "not-json": b"not json",
        "object": _json({"destination": dest}),
        "deep-nesting": DEEP,
        "item-number": b"[5]",
        "item-null": b"[null]",
        "destination-missing": _json([{"body": "x"}]),
        "destination-number": _json([{"destination": 5}]),
        "headers-list": _json([{"destination": dest, "headers": ["a"]}]),
        "header-value-number": _json([{"destination": dest, "headers": {"A": 1}}]),
        "body-number": _json([{"destination": dest, "body": 5}]),
        "unknown-key": _json([{"destination": dest, "delay": "5s"}]),
    }
    for name, body in whole.items():
        cases.append(Case(f"batch {name}", "POST", "/v2/batch", body, JSON))
    per_item = {
        "crlf-value": {"Upstash-Forward-X": "a\r\nX-Injected: 1"},
        "lf-value": {"Upstash-Forward-X": "a\nb"},
        "nul-value": {"Upstash-Forward-X": "a\x00b"},
        "snowman-value": {"Upstash-Forward-X": "\u2603"},
        "space-name": {"Upstash-Forward-A B": "v"},
        "colon-name": {"Upstash-Forward-A:B": "v"},
        "crlf-name": {"Upstash-Forward-A\r\nB": "v"},
        "bad-retries": {"Upstash-Retries": "-3"},
        "bad-delay": {"Upstash-Delay": "soon"},
        "header-forward-crlf": {"Upstash-Header-Forward": "true", "X-A": "1\r\n2"},
    }
    for name, headers in per_item.items():
        body = _json([{"destination": dest, "headers": headers, "body": "x"}])
        cases.append(Case(f"batch item {name}", "POST", "/v2/batch", body, JSON, batch_item_refused=True))
    cases.append(
        Case(
            "batch item bad destination",
            "POST",
            "/v2/batch",
            _json([{"destination": "http://%zz/x"}]),
            JSON,
            batch_item_refused=True,
        )
    )
    return cases


def other_cases(target_base: str) -> list[Case]:
    dest = target_base + MATRIX_PATH
    cases = [
        Case("unknown path", "GET", "/v2/nothing-here"),
        Case("unknown version", "POST", "/v3/publish/" + dest, b"x"),
        Case("root", "GET", "/"),
        Case("unicode path", "GET", "/v2/\u2603".encode().decode("latin-1")),
        Case("PUT messages", "PUT", "/v2/messages"),
        Case("PATCH dlq", "PATCH", "/v2/dlq"),
        Case("GET batch", "GET", "/v2/batch"),
        Case("POST logs", "POST", "/v2/logs"),
        Case("DELETE keys", "DELETE", "/v2/keys"),
        Case("PUT publish", "PUT", "/v2/publish/" + dest, b"x"),
        Case("GET publish", "GET", "/v2/publish/" + dest),
        Case("unknown message", "GET", "/v2/messages/msg_does_not_exist"),
        Case("cancel unknown message", "DELETE", "/v2/messages/msg_does_not_exist"),
        Case("unknown dlq entry", "GET", "/v2/dlq/dlq_does_not_exist"),
        Case("retry unknown dlq entry", "POST", "/v2/dlq/retry/dlq_does_not_exist"),
        Case("unknown schedule", "GET", "/v2/schedules/scd_does_not_exist"),
        Case("unknown url group", "GET", "/v2/topics/no-such-group"),
        # Finding 7: a schedule to a group that does not exist is 404, as publishing to it is.
        Case(
            "schedule to an unknown url group",
            "POST",
            "/v2/schedules/nosuchgroup",
            b"x",
            (("Upstash-Cron", "* * * * *"),),
            status=404,
        ),
    ]
    for cron in ("* * * *", "61 * * * *", "abc", "* * * * * * *", "*/0 * * * *", ""):
        cases.append(
            Case(f"schedule cron {cron!r}", "POST", "/v2/schedules/" + dest, b"x", (("Upstash-Cron", cron),))
        )
    for name, body in {
        "empty-object": b"{}",
        "endpoints-empty": b'{"endpoints": []}',
        "endpoints-string": b'{"endpoints": "x"}',
        "singular-key": _json({"endpoint": [{"url": dest}]}),
        "endpoint-bad-url": _json({"endpoints": [{"url": "http://%zz/x"}]}),
        "endpoint-unknown-key": _json({"endpoints": [{"url": dest, "weight": 2}]}),
        "not-json": b"{",
    }.items():
        cases.append(Case(f"url group {name}", "POST", "/v2/topics/matrix-group/endpoints", body, JSON))
    cases.append(
        Case(
            "url group bad name",
            "POST",
            "/v2/topics/bad%20name!/endpoints",
            _json({"endpoints": [{"url": dest}]}),
            JSON,
        )
    )
    return cases


# --- the seeded state every refused request must leave alone ---------------------------------------


@dataclass
class Seed:
    pending_ids: list[str]
    dlq_ids: list[str]


def _api(stack, method: str, route: str, body: bytes = b"", headers: tuple = ()) -> tuple[int, object]:
    status, _, raw = raw_request(stack.url, Case("", method, route, body, headers), stack.secrets.api_token)
    return status, json.loads(raw) if raw else None


@pytest.fixture(scope="module")
def seed(stack, target) -> Seed:
    pending = []
    for i in range(3):
        status, body = _api(
            stack,
            "POST",
            f"/v2/publish/{target.url('/matrix-seed')}",
            f"seed {i}".encode(),
            (("Upstash-Delay", "1h"),),
        )
        assert status == 200, body
        pending.append(body["messageId"])
    target.always("/matrix-dead", Reply(status=500))
    status, body = _api(
        stack, "POST", f"/v2/publish/{target.url('/matrix-dead')}", b"dead", (("Upstash-Retries", "0"),)
    )
    assert status == 200, body
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        _, listed = _api(stack, "GET", "/v2/dlq")
        dlq_ids = [m["dlqId"] for m in listed["messages"] if m["messageId"] == body["messageId"]]
        if dlq_ids:
            return Seed(pending_ids=pending, dlq_ids=dlq_ids)
        time.sleep(0.2)
    raise AssertionError("the seeded message never reached the DLQ")


def snapshot(stack, services, seed: Seed) -> dict:
    states = {i: _api(stack, "GET", f"/v2/messages/{i}")[1].get("state") for i in seed.pending_ids}
    _, dlq = _api(stack, "GET", "/v2/dlq")
    _, groups = _api(stack, "GET", "/v2/topics")
    _, schedules = _api(stack, "GET", "/v2/schedules")
    stored = stored_envelopes_naming(stack, MATRIX_PATH)
    return {
        "pending": states,
        "dlq": sorted(m["dlqId"] for m in dlq["messages"]),
        "groups": sorted(g["name"] for g in groups),
        "schedules": sorted(s["scheduleId"] for s in schedules),
        "matrix_messages_stored": stored,
    }


def all_cases() -> list[Case]:
    base = "http://127.0.0.1:9"  # never contacted: every request below is refused before delivery
    return [
        *bulk_cases(),
        *filter_cases(),
        *publish_cases(base),
        *batch_cases(base),
        *other_cases(base),
    ]


CASES = all_cases()


def test_the_matrix_has_the_issues_size():
    assert len(CASES) >= 165


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_a_malformed_request_is_refused_with_json_and_changes_nothing(stack, services, seed, case):
    before = snapshot(stack, services, seed)
    status, headers, raw = raw_request(stack.url, case, stack.secrets.api_token)
    assert status < 500, raw[:500]
    assert headers.get("content-type", "").startswith("application/json"), raw[:200]
    answer = json.loads(raw)
    if case.batch_item_refused:
        assert status == 200
        assert all("error" in slot and slot["status"] == 400 for slot in answer), answer
    else:
        assert 400 <= status < 500, answer
        assert case.status in (None, status), answer
        assert isinstance(answer, dict) and answer.get("error"), answer
    assert snapshot(stack, services, seed) == before
    assert all(state == "CREATED" for state in before["pending"].values()), before
    assert set(seed.dlq_ids) <= set(before["dlq"])
