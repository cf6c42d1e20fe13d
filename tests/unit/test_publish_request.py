"""Parsing a publish request into an envelope: every header, and a clear refusal for each bad value."""

from __future__ import annotations

import pytest

from ferry.domain.errors import InvalidInput, PayloadTooLarge
from ferry.domain.limits import Limits
from ferry.domain.publish_request import canonical_header, parse_publish

NOW_MS = 1_800_000_000_000
URL = "https://example.com/hook"


LIMITS = Limits()


def parse(headers=None, body=b"hi", destination=URL, allow_private=False, limits=LIMITS):
    return parse_publish(
        destination=destination,
        headers=headers or {},
        body=body,
        message_id="msg_1",
        now_ms=NOW_MS,
        limits=limits,
        allow_private=allow_private,
    )


def test_defaults_match_qstash():
    plan = parse()
    env = plan.envelope
    assert (env.method, env.max_retries, env.not_before, env.timeout) == ("POST", 3, NOW_MS, 300)
    assert plan.dedup_key is None and plan.delay_seconds == 0


def test_forward_headers_lose_their_prefix_and_header_names_are_case_insensitive():
    env = parse(
        {"upstash-forward-x-api-key": "k", "Content-Type": "text/plain", "X-Other": "dropped"}
    ).envelope
    assert env.headers == {"Content-Type": "text/plain", "X-Api-Key": "k"}


def test_header_forward_true_forwards_everything_but_credentials_and_upstash_headers():
    env = parse(
        {"Upstash-Header-Forward": "true", "X-Sig": "1", "Authorization": "Bearer t", "Upstash-Retries": "1"}
    )
    assert env.envelope.headers == {"X-Sig": "1"}


def test_delay_and_not_before():
    assert parse({"Upstash-Delay": "1m30s"}).envelope.not_before == NOW_MS + 90_000
    plan = parse({"Upstash-Not-Before": str(NOW_MS // 1000 + 60), "Upstash-Delay": "5s"})
    assert plan.delay_seconds == 60, "Not-Before wins over Delay"


def test_binary_body_travels_base64_and_text_as_text():
    assert parse(body=b"\xff\x00").envelope.body_encoding == "base64"
    assert parse(body="héllo".encode()).envelope.body == "héllo"
    assert parse(body=b"\xff\x00").envelope.body_bytes() == b"\xff\x00"


def test_callbacks_keep_their_own_options_and_forwarded_headers():
    env = parse(
        {
            "Upstash-Callback": "https://example.com/cb",
            "Upstash-Callback-Forward-X-Trace": "t1",
            "Upstash-Callback-Retries": "1",
            "Upstash-Callback-Method": "PUT",
            "Upstash-Callback-Workflow-RunId": "wfr_1",
            "Upstash-Failure-Callback": "https://example.com/fail",
        }
    ).envelope
    assert env.callback.url == "https://example.com/cb"
    assert env.callback.headers == {"X-Trace": "t1"}
    assert (env.callback.retries, env.callback.method) == (1, "PUT")
    assert env.callback.options == {"Upstash-Workflow-Runid": "wfr_1"}
    assert env.failure_callback.url == "https://example.com/fail"


def test_labels_redaction_and_flow_control():
    env = parse(
        {
            "Upstash-Label": "billing, urgent",
            "Upstash-Redact-Fields": "body, header[Authorization]",
            "Upstash-Flow-Control-Key": "tenant-1",
            "Upstash-Flow-Control-Value": "parallelism=2, rate=5, period=1m",
        }
    ).envelope
    assert env.labels == ("billing", "urgent")
    assert env.redact.body and env.redact.headers == ("Authorization",)
    assert (env.flow_control.parallelism, env.flow_control.rate, env.flow_control.period) == (2, 5, 60)


def test_content_based_dedup_key_depends_on_content():
    a = parse({"Upstash-Content-Based-Deduplication": "True"}, body=b"a").dedup_key
    b = parse({"Upstash-Content-Based-Deduplication": "true"}, body=b"b").dedup_key
    assert a and b and a != b
    assert parse({"Upstash-Content-Based-Deduplication": "true"}, body=b"a").dedup_key == a
    assert parse({"Upstash-Deduplication-Id": "order-7"}).dedup_key == "id:order-7"


@pytest.mark.parametrize(
    ("headers", "field"),
    [
        ({"Upstash-Delay": "1w"}, "Upstash-Delay"),
        ({"Upstash-Delay": "366d"}, "Upstash-Delay"),
        ({"Upstash-Callback": URL, "Upstash-Callback-Delay": "3000d"}, "Upstash-Callback-Delay"),
        ({"Upstash-Retries": "21"}, "Upstash-Retries"),
        ({"Upstash-Retries": "1.5"}, "Upstash-Retries"),
        # Python's int() reads both (as 10 and 3); QStash's Go parser refuses them.
        ({"Upstash-Retries": "1_0"}, "Upstash-Retries"),
        ({"Upstash-Retries": "٣"}, "Upstash-Retries"),
        ({"Upstash-Not-Before": "1_800_000_000"}, "Upstash-Not-Before"),
        (
            {"Upstash-Flow-Control-Key": "k", "Upstash-Flow-Control-Value": "parallelism=1_0"},
            "Upstash-Flow-Control-Value",
        ),
        ({"Upstash-Method": "TRACE"}, "Upstash-Method"),
        ({"Upstash-Method": "po\u017ft"}, "Upstash-Method"),  # a long s: upper() makes it "POST"
        ({"Upstash-Timeout": "0s"}, "Upstash-Timeout"),
        ({"Upstash-Timeout": "1h"}, "Upstash-Timeout"),
        ({"Upstash-Retry-Delay": "pow(2"}, "Upstash-Retry-Delay"),
        ({"Upstash-Callback": "ftp://x"}, "Upstash-Callback"),
        ({"Upstash-Failure-Callback": "http://169.254.169.254/"}, "Upstash-Failure-Callback"),
        ({"Upstash-Label": "bad label!"}, "Upstash-Label"),
        ({"Upstash-Redact-Fields": "cookies"}, "Upstash-Redact-Fields"),
        ({"Upstash-Redact-Fields": "header[ ]"}, "Upstash-Redact-Fields"),
        ({"Upstash-Redact-Fields": "header[X Y]"}, "Upstash-Redact-Fields"),
        (
            {"Upstash-Flow-Control-Key": "k", "Upstash-Flow-Control-Value": "parallelism=1,parallelism=5"},
            "Upstash-Flow-Control-Value",
        ),
        (
            {"Upstash-Flow-Control-Key": "k", "Upstash-Flow-Control-Value": "speed=3"},
            "Upstash-Flow-Control-Value",
        ),
        ({"Upstash-Content-Based-Deduplication": "maybe"}, "Upstash-Content-Based-Deduplication"),
    ],
)
def test_each_malformed_header_is_refused_naming_the_field(headers, field):
    with pytest.raises(InvalidInput) as refused:
        parse(headers)
    assert refused.value.field == field
    assert field in refused.value.message


def test_body_over_the_limit_is_refused_with_the_limit():
    with pytest.raises(PayloadTooLarge, match=r"largest message"):
        parse(body=b"x" * (Limits().max_body_bytes + 1))


def test_canonical_header_names():
    assert canonical_header("x-api-KEY") == "X-Api-Key"


# --- overrides on a DLQ retry ---------------------------------------------------------------------


def overrides(headers, stored=None):
    from ferry.domain.retry_overrides import parse_retry_overrides

    stored = stored or parse({"Upstash-Forward-X-Keep": "1", "Upstash-Retries": "5"}).envelope
    return parse_retry_overrides(headers, stored=stored, now_ms=NOW_MS, limits=LIMITS, allow_private=False)


def test_retry_without_publish_headers_changes_nothing():
    result = overrides({"Authorization": "Bearer t", "Content-Type": "application/json"})
    assert result.updates == {} and result.delay_seconds == 0


def test_retry_headers_override_only_what_they_name():
    result = overrides(
        {
            "Upstash-Retries": "0",
            "Upstash-Retry-Delay": "1000 * retried",
            "Upstash-Timeout": "10s",
            "Upstash-Method": "put",
            "Upstash-Forward-X-New": "2",
            "Upstash-Callback": "https://example.com/cb",
            "Upstash-Label": "rerun",
            "Upstash-Delay": "2h",
        }
    )
    updates = result.updates
    assert updates["max_retries"] == 0 and updates["retry_delay"] == "1000 * retried"
    assert updates["timeout"] == 10 and updates["method"] == "PUT" and updates["labels"] == ("rerun",)
    assert updates["headers"] == {"X-Keep": "1", "X-New": "2"}
    assert updates["callback"].url == "https://example.com/cb"
    assert "failure_callback" not in updates
    assert result.delay_seconds == 7200


@pytest.mark.parametrize(
    ("headers", "field"),
    [
        ({"Upstash-Retries": "many"}, "Upstash-Retries"),
        ({"Upstash-Retry-Delay": "__import__('os')"}, "Upstash-Retry-Delay"),
        ({"Upstash-Callback": "http://169.254.169.254/"}, "Upstash-Callback"),
        ({"Upstash-Delay": "soon"}, "Upstash-Delay"),
    ],
)
def test_a_bad_retry_override_is_refused_naming_the_header(headers, field):
    with pytest.raises(InvalidInput) as refused:
        overrides(headers)
    assert refused.value.field == field


def test_a_queued_message_cannot_be_retried_with_a_delay():
    queued = parse_publish(
        destination=URL, headers={}, body=b"x", message_id="msg_q", now_ms=NOW_MS, limits=LIMITS,
        allow_private=False, queue="orders",
    ).envelope  # fmt: skip
    with pytest.raises(InvalidInput, match="queue"):
        overrides({"Upstash-Delay": "10s"}, stored=queued)


def test_transport_headers_are_never_forwarded_to_a_callback():
    env = parse(
        {
            "Upstash-Callback": "https://example.com/cb",
            "Upstash-Callback-Forward-Transfer-Encoding": "chunked",
            "Upstash-Callback-Content-Length": "5",
            "Upstash-Callback-Forward-X-Trace": "t1",
        }
    ).envelope
    assert env.callback.headers == {"X-Trace": "t1"}


# --- issue 9, item 3: headers that cannot be sent as-is are refused at publish ---------------------


@pytest.mark.parametrize(
    ("headers", "field"),
    [
        ({"Upstash-Forward-X": "a\r\nX-Injected: 1"}, "X"),
        ({"Upstash-Forward-X": "a\nb"}, "X"),
        ({"Upstash-Forward-X": "nul\x00byte"}, "X"),
        ({"Upstash-Forward-X": "\u2603"}, "X"),
        ({"Upstash-Forward-A B": "space in the name"}, "A B"),
        ({"Upstash-Forward-A:B": "colon in the name"}, "A:B"),
        ({"Upstash-Forward-A\r\nB": "crlf in the name"}, "A\r\nB"),
        ({"Upstash-Header-Forward": "true", "X-Bad": "v\r\n"}, "X-Bad"),
        ({"Upstash-Callback": URL, "Upstash-Callback-Forward-Y": "\r\n"}, "Y"),
    ],
)
def test_a_header_that_would_split_or_corrupt_the_request_is_refused(headers, field):
    with pytest.raises(InvalidInput) as refused:
        parse(headers)
    assert refused.value.field.lower() == field.lower()


def test_latin1_and_tabs_in_header_values_are_allowed():
    plan = parse({"Upstash-Forward-X": "caf\u00e9\tok"})
    assert plan.envelope.headers["X"] == "caf\u00e9\tok"
