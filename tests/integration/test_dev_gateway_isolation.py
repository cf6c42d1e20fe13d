"""`ferry dev` serves concurrent requests as Lambda would: each by an API instance of its own, so
every answer (and every action taken) belongs to its own request (issue 9, item 9)."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest

pytestmark = pytest.mark.integration

CONCURRENT = 200


def call(stack, method: str, route: str, body: bytes | None = None) -> tuple[int, dict]:
    request = urllib.request.Request(
        stack.url + route,
        data=body,
        headers={"Authorization": f"Bearer {stack.secrets.api_token}"},
        method=method,
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def test_200_concurrent_mixed_requests_each_get_the_answer_to_their_own_request(stack, target, path, qstash):
    # Things to read back concurrently: messages with distinct destinations, URL groups.
    known = {}
    for i in range(10):
        url = target.url(f"{path}/known/{i}")
        known[i] = (qstash.message.publish(url=url, body=b"k", delay="1h").message_id, url)
        qstash.url_group.upsert_endpoints(url_group=f"{path.strip('/')[-30:]}-g{i}", endpoints=[{"url": url}])
    start = threading.Barrier(CONCURRENT, timeout=60)

    def one(i: int) -> tuple[int, int, dict, object]:
        kind = i % 5
        if kind == 0:  # a publish, whose delivery must reach its own destination
            expected = target.url(f"{path}/x/{i}")
            request = ("POST", f"/v2/publish/{expected}", f"body-{i}".encode())
        elif kind == 1:  # a message read
            message_id, url = known[i % 10]
            expected = (message_id, url)
            request = ("GET", f"/v2/messages/{message_id}", None)
        elif kind == 2:  # a URL group read
            expected = f"{path.strip('/')[-30:]}-g{i % 10}"
            request = ("GET", f"/v2/topics/{expected}", None)
        elif kind == 3:  # a refused publish (no such URL group), whose error names its own
            expected = f"no-such-group-{i}"
            request = ("POST", f"/v2/publish/{expected}", b"x")
        else:  # an unknown route, whose 404 names its own path
            expected = f"/v2/nothing-here-{i}"
            request = ("GET", expected, None)
        start.wait()
        status, body = call(stack, *request)
        return kind, status, body, expected

    with ThreadPoolExecutor(max_workers=CONCURRENT) as pool:
        answers = list(pool.map(one, range(CONCURRENT)))

    for kind, status, body, expected in answers:
        if kind == 0:
            assert status == 200, body
            assert body["messageId"]
        elif kind == 1:
            assert status == 200, body
            assert (body["messageId"], body["url"]) == expected
        elif kind == 2:
            assert status == 200, body
            assert body["name"] == expected
        elif kind == 3:
            assert status == 404, body
            assert f"'{expected}'" in body["error"], body
        else:
            assert status == 404, body
            assert expected in body["error"], body

    # Every publish was acted on for its own request: one delivery to each destination, its own body.
    for i in range(0, CONCURRENT, 5):
        [got] = target.wait_for(f"{path}/x/{i}", timeout=60)
        assert got.body == f"body-{i}".encode()
