"""A callback is a queue message built from the attempt's answer: it must fit in one, whatever the
destination answered (SQS takes at most 1 MiB)."""

from __future__ import annotations

import json

from ferry.domain.callbacks import MAX_CALLBACK_HEADER_BYTES, callback_body, callback_envelope
from ferry.domain.delivery import AttemptResult
from ferry.domain.envelope import CallbackSpec, Envelope

SQS_MAX_MESSAGE_BYTES = 1_048_576


def source(body: str = "hello") -> Envelope:
    return Envelope(
        id="msg_1", destination="https://example.com/hook", body=body, created_at=0, not_before=0,
        max_retries=3, timeout=30,
    )  # fmt: skip


def test_the_response_headers_are_kept_up_to_their_budget_and_flagged_when_cut():
    headers = {f"X-Big-{i}": "v" * 30_000 for i in range(3)}
    body = callback_body(source(), AttemptResult(status=500, headers=headers, body=b"no"), retried=0)
    assert list(body["header"]) == ["X-Big-0", "X-Big-1"]
    assert body["headerTruncated"] is True
    small = callback_body(source(), AttemptResult(status=500, headers={"X-A": "1"}, body=b""), retried=0)
    assert small["header"] == {"X-A": ["1"]} and "headerTruncated" not in small


def test_a_callback_fits_in_a_queue_message_whatever_the_destination_answered():
    # 100 header lines of 60 KB of "é" (what the exchange reads at most), a 300 KB body, and a
    # 200 KB source body: once 1.5 MB, too large to enqueue, and the callback was lost.
    headers = {f"X-Latin-{i}": "\u00e9" * 60_000 for i in range(100)}
    result = AttemptResult(status=500, headers=headers, body=b"\xff" * 300_000)
    envelope = callback_envelope(
        source("s" * 200_000), CallbackSpec(url="https://example.com/cb"), result, retried=3,
        message_id="msg_cb", now_ms=0, kind="failure_callback", default_timeout=30,
    )  # fmt: skip
    assert len(envelope.to_json().encode()) < SQS_MAX_MESSAGE_BYTES
    payload = json.loads(envelope.body)
    assert payload["headerTruncated"] and payload["bodyTruncated"]
    assert sum(len(k) + len(v[0]) for k, v in payload["header"].items()) <= MAX_CALLBACK_HEADER_BYTES
