"""The publish headers, described for the generated OpenAPI document. Publish bodies are raw bytes
and their configuration travels in headers, which `ferry.domain.publish_request` parses (each
refusal names the header); these models say what each header means, so the document lists them
as header parameters. tests/unit/test_openapi.py checks every header the parser reads is here."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

Method = Literal["GET", "POST", "PUT", "PATCH", "DELETE"]
Flag = Literal["true", "false", "True", "False", "1", "0"]
DURATION = r"^([0-9]+|([0-9]+[smhd])+)$"


class HeaderDocs(BaseModel):
    """Every header a publish-like request may carry (all optional)."""

    content_type: str | None = Field(
        None,
        alias="Content-Type",
        description="Stored with the message and delivered to the destination unchanged.",
    )
    upstash_method: Method | None = Field(
        None,
        alias="Upstash-Method",
        json_schema_extra={"default": "POST"},
        description="HTTP method of the delivery. Case-insensitive. Anything else is refused with 400.",
    )
    upstash_delay: str | None = Field(
        None,
        alias="Upstash-Delay",
        pattern=DURATION,
        description=(
            "A duration: one or more `<integer><unit>` pairs with the lower-case units `s`, `m`, `h`, "
            "`d` (`50s`, `1h30m`, `1d10h30m`), or a bare number of seconds (`30`). Delivery waits this "
            "long. At most 1 year (31,536,000 s); up to 15 minutes SQS holds the message, longer delays"
            " travel as one-time EventBridge Scheduler schedules. Ignored when `Upstash-Not-Before` is "
            "set. Refused (400) on enqueue and on batch items with a `queue`."
        ),
    )
    upstash_not_before: str | None = Field(
        None,
        alias="Upstash-Not-Before",
        pattern="^[0-9]+$",
        description=(
            "Unix time in **seconds**: deliver no earlier than this. Wins over `Upstash-Delay`. A time "
            "in the past means now; at most 1 year ahead. Refused (400) on enqueue and on batch items "
            "with a `queue`."
        ),
    )
    upstash_retries: str | None = Field(
        None,
        alias="Upstash-Retries",
        json_schema_extra={"default": "3"},
        pattern="^[0-9]+$",
        description=(
            "How many times a failed delivery is retried (total attempts = 1 + retries). Whole number, "
            "0 to 20."
        ),
    )
    upstash_retry_delay: str | None = Field(
        None,
        alias="Upstash-Retry-Delay",
        max_length=512,
        description=(
            "Arithmetic expression giving the wait before the next retry in **milliseconds**, over the "
            "variable `retried` (0 before the first retry). Numbers, `+ - * /`, parentheses and the "
            "functions `pow(x, y)`, `exp`, `sqrt`, `abs`, `floor`, `ceil`, `round`, `min(x, y)`, "
            "`max(x, y)`; at most 512 characters. Replaces the default backoff `min(86400, "
            "e^(2.5*(retried+1)))` s. A `Retry-After`-style header in the failed response still wins."
        ),
    )
    upstash_timeout: str | None = Field(
        None,
        alias="Upstash-Timeout",
        json_schema_extra={"default": "300s"},
        pattern=DURATION,
        description=(
            "A duration: one or more `<integer><unit>` pairs with the lower-case units `s`, `m`, `h`, "
            "`d` (`50s`, `1h30m`, `1d10h30m`), or a bare number of seconds (`30`). Per-attempt HTTP "
            "timeout, 1 s to 300 s (attempts run inside a Lambda invocation); default 300 s."
        ),
    )
    upstash_callback: str | None = Field(
        None,
        alias="Upstash-Callback",
        max_length=2048,
        description=(
            "Absolute http(s) URL (at most 2048 characters; no private, loopback or link-local hosts "
            "outside `ferry dev`). After **every** delivery attempt Ferry publishes a signed callback "
            "message to it whose JSON body carries the attempt's response (`status`, `header`, `body` "
            "base64, `retried`, `maxRetries`, `sourceMessageId`, `url`, `method`, `sourceHeader`, "
            "`sourceBody`, `notBefore`, `createdAt`, ...)."
        ),
    )
    upstash_callback_method: Method | None = Field(
        None,
        alias="Upstash-Callback-Method",
        json_schema_extra={"default": "POST"},
        description="Method of the callback message.",
    )
    upstash_callback_timeout: str | None = Field(
        None,
        alias="Upstash-Callback-Timeout",
        pattern=DURATION,
        description=(
            "A duration: one or more `<integer><unit>` pairs with the lower-case units `s`, `m`, `h`, "
            "`d` (`50s`, `1h30m`, `1d10h30m`), or a bare number of seconds (`30`). Per-attempt timeout "
            "of the callback message, 1 s to 300 s."
        ),
    )
    upstash_callback_retries: str | None = Field(
        None,
        alias="Upstash-Callback-Retries",
        pattern="^[0-9]+$",
        description="Retries of the callback message, 0 to 20; default: the source message's retries.",
    )
    upstash_callback_retry_delay: str | None = Field(
        None,
        alias="Upstash-Callback-Retry-Delay",
        max_length=512,
        description=(
            "Retry-delay expression of the callback message (syntax of `Upstash-Retry-Delay`); default:"
            " the source message's."
        ),
    )
    upstash_callback_delay: str | None = Field(
        None,
        alias="Upstash-Callback-Delay",
        pattern=DURATION,
        description=(
            "A duration: one or more `<integer><unit>` pairs with the lower-case units `s`, `m`, `h`, "
            "`d` (`50s`, `1h30m`, `1d10h30m`), or a bare number of seconds (`30`). Delay of the "
            "callback message."
        ),
    )
    upstash_failure_callback: str | None = Field(
        None,
        alias="Upstash-Failure-Callback",
        max_length=2048,
        description=(
            "Absolute http(s) URL (same rules as `Upstash-Callback`). Called once, when the message is "
            "dead-lettered (retries exhausted or a non-retryable 489); the body is the callback body "
            "plus `dlqId`."
        ),
    )
    upstash_failure_callback_method: Method | None = Field(
        None,
        alias="Upstash-Failure-Callback-Method",
        json_schema_extra={"default": "POST"},
        description="Method of the failure-callback message.",
    )
    upstash_failure_callback_timeout: str | None = Field(
        None,
        alias="Upstash-Failure-Callback-Timeout",
        pattern=DURATION,
        description=(
            "A duration: one or more `<integer><unit>` pairs with the lower-case units `s`, `m`, `h`, "
            "`d` (`50s`, `1h30m`, `1d10h30m`), or a bare number of seconds (`30`). Per-attempt timeout "
            "of the failure-callback message, 1 s to 300 s."
        ),
    )
    upstash_failure_callback_retries: str | None = Field(
        None,
        alias="Upstash-Failure-Callback-Retries",
        pattern="^[0-9]+$",
        description=(
            "Retries of the failure-callback message, 0 to 20; default: the source message's retries."
        ),
    )
    upstash_failure_callback_retry_delay: str | None = Field(
        None,
        alias="Upstash-Failure-Callback-Retry-Delay",
        max_length=512,
        description="Retry-delay expression of the failure-callback message; default: the source message's.",
    )
    upstash_failure_callback_delay: str | None = Field(
        None,
        alias="Upstash-Failure-Callback-Delay",
        pattern=DURATION,
        description=(
            "A duration: one or more `<integer><unit>` pairs with the lower-case units `s`, `m`, `h`, "
            "`d` (`50s`, `1h30m`, `1d10h30m`), or a bare number of seconds (`30`). Delay of the "
            "failure-callback message."
        ),
    )
    upstash_deduplication_id: str | None = Field(
        None,
        alias="Upstash-Deduplication-Id",
        description=(
            "A repeat of this id within 10 minutes is not published again: the answer is **202** with "
            "the original `messageId` and `deduplicated: true`."
        ),
    )
    upstash_content_based_deduplication: Flag | None = Field(
        None,
        alias="Upstash-Content-Based-Deduplication",
        description=(
            "`true`/`false` (also `1`/`0`; case-insensitive). Deduplicates on a hash of the "
            "destination, the delivered headers (`Content-Type` and forwarded headers) and the body, "
            "within 10 minutes. `Upstash-Deduplication-Id` wins when both are set."
        ),
    )
    upstash_label: str | None = Field(
        None,
        alias="Upstash-Label",
        description=(
            "One or more labels, comma-separated; each `[A-Za-z0-9._-]{1,256}`. Filter logs, the DLQ "
            "and bulk cancel by `label`; message GET returns `label` (the first) and `labels`."
        ),
    )
    upstash_redact_fields: str | None = Field(
        None,
        alias="Upstash-Redact-Fields",
        description=(
            "Comma list of `body`, `header`/`headers` (all headers) and `header[Name]`/`headers[Name]`."
            " Listed fields read `REDACTED:<sha256 hex>` in message, DLQ and schedule responses; "
            "delivery and DLQ retry use the real values."
        ),
    )
    upstash_flow_control_key: str | None = Field(
        None,
        alias="Upstash-Flow-Control-Key",
        description=(
            "`[A-Za-z0-9._-]{1,256}`. Validated and stored (shown on message GET) but **not enforced "
            "yet**: messages are delivered without flow-control limits."
        ),
    )
    upstash_flow_control_value: str | None = Field(
        None,
        alias="Upstash-Flow-Control-Value",
        description=(
            "With a key: comma list of `parallelism=<n>`, `rate=<n>`, `period=<duration>` (n >= 1; at "
            "least one of parallelism and rate). Ignored without `Upstash-Flow-Control-Key`. Validated "
            "and stored, **not enforced yet**."
        ),
    )
    upstash_header_forward: Flag | None = Field(
        None,
        alias="Upstash-Header-Forward",
        description=(
            "`true` forwards every request header without the `Upstash-Forward-` prefix (for webhook "
            "senders), except `Authorization`, `Host`, hop-by-hop and transport headers "
            "(`Content-Length`, `Connection`, `Transfer-Encoding`, `Keep-Alive`, `Expect`, `TE`, "
            "`Upgrade`, `Via`, `Forwarded`), `Upstash-*`, `X-Amzn-*` and `X-Forwarded-*`."
        ),
    )
    upstash_cron: str | None = Field(
        None,
        alias="Upstash-Cron",
        description=(
            "Required. A 5-field unix cron expression, optionally prefixed `CRON_TZ=<IANA zone> ` (UTC "
            "otherwise). Converted exactly to an EventBridge Scheduler `cron(...)` expression; "
            "expressions AWS cannot express with the same meaning (e.g. day-of-month and day-of-week "
            "both restricted) are refused with 400."
        ),
    )
    upstash_schedule_id: str | None = Field(
        None,
        alias="Upstash-Schedule-Id",
        pattern="^[A-Za-z0-9._\\-]{1,64}$",
        description=(
            "`[A-Za-z0-9._-]{1,64}`. Creates the schedule with this id, or replaces the whole "
            "configuration of the existing one. Default: a new `scd_...` id."
        ),
    )
    upstash_queue_name: str | None = Field(
        None,
        alias="Upstash-Queue-Name",
        pattern="^[A-Za-z0-9._\\-]{1,80}$",
        description="`[A-Za-z0-9._-]{1,80}`. Every firing is enqueued to this queue (FIFO, one at a time).",
    )


# Which headers each kind of request documents, by header name.
PUBLISH_HEADERS = (
    "Content-Type",
    "Upstash-Method",
    "Upstash-Delay",
    "Upstash-Not-Before",
    "Upstash-Retries",
    "Upstash-Retry-Delay",
    "Upstash-Timeout",
    "Upstash-Callback",
    "Upstash-Callback-Method",
    "Upstash-Callback-Timeout",
    "Upstash-Callback-Retries",
    "Upstash-Callback-Retry-Delay",
    "Upstash-Callback-Delay",
    "Upstash-Failure-Callback",
    "Upstash-Failure-Callback-Method",
    "Upstash-Failure-Callback-Timeout",
    "Upstash-Failure-Callback-Retries",
    "Upstash-Failure-Callback-Retry-Delay",
    "Upstash-Failure-Callback-Delay",
    "Upstash-Deduplication-Id",
    "Upstash-Content-Based-Deduplication",
    "Upstash-Label",
    "Upstash-Redact-Fields",
    "Upstash-Flow-Control-Key",
    "Upstash-Flow-Control-Value",
    "Upstash-Header-Forward",
)
SCHEDULE_HEADERS = (
    "Upstash-Cron",
    "Upstash-Schedule-Id",
    "Upstash-Queue-Name",
    "Content-Type",
    "Upstash-Method",
    "Upstash-Delay",
    "Upstash-Retries",
    "Upstash-Retry-Delay",
    "Upstash-Timeout",
    "Upstash-Callback",
    "Upstash-Callback-Method",
    "Upstash-Callback-Timeout",
    "Upstash-Callback-Retries",
    "Upstash-Callback-Retry-Delay",
    "Upstash-Callback-Delay",
    "Upstash-Failure-Callback",
    "Upstash-Failure-Callback-Method",
    "Upstash-Failure-Callback-Timeout",
    "Upstash-Failure-Callback-Retries",
    "Upstash-Failure-Callback-Retry-Delay",
    "Upstash-Failure-Callback-Delay",
    "Upstash-Label",
    "Upstash-Redact-Fields",
    "Upstash-Flow-Control-Key",
    "Upstash-Flow-Control-Value",
    "Upstash-Header-Forward",
)
RETRY_HEADERS = (
    "Upstash-Retries",
    "Upstash-Retry-Delay",
    "Upstash-Timeout",
    "Upstash-Method",
    "Upstash-Delay",
    "Upstash-Not-Before",
    "Upstash-Callback",
    "Upstash-Failure-Callback",
    "Upstash-Label",
)
# Header families OpenAPI cannot list by name.
HEADER_PREFIXES: list[dict[str, Any]] = [
    {
        "prefix": "Upstash-Forward-",
        "description": (
            "`Upstash-Forward-<Name>: v` is delivered as `<Name>: v` (name in canonical case, e.g. "
            "`X-Tenant`); message GET shows it without the prefix."
        ),
    },
    {
        "prefix": "Upstash-Callback-Forward-",
        "description": (
            "`Upstash-Callback-Forward-<Name>: v` is delivered to the callback URL as `<Name>: v`."
        ),
    },
    {
        "prefix": "Upstash-Failure-Callback-Forward-",
        "description": (
            "`Upstash-Failure-Callback-Forward-<Name>: v` is delivered to the failure-callback URL as "
            "`<Name>: v`."
        ),
    },
    {
        "prefix": "Upstash-Callback-",
        "description": (
            "Any other `Upstash-Callback-<Name>` (the Python SDK's `callback_headers`) is forwarded to "
            "the callback URL as `<Name>`, except names starting with `Workflow-`, `Feature-Set`, "
            "`Failure-Callback`, `Callback`, `Label` or `Flow-Control`, which are stored as the "
            "callback message's `Upstash-<Name>` configuration (workflow protocol; not acted on yet). "
            "Same rule for `Upstash-Failure-Callback-<Name>`."
        ),
    },
    {
        "prefix": "Upstash-Failure-Callback-",
        "description": "See `Upstash-Callback-`: the same rule for the failure callback.",
    },
]
