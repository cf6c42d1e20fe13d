"""Limits a publisher can hit; each one maps to a clear 4xx at the API. Deployment settings
(`ferry.config.FerryConfig`) carry one of these; the domain reads it without importing config."""

from __future__ import annotations

from dataclasses import dataclass

# SQS's per-message DelaySeconds ceiling (the queue adapters clamp to it too).
SQS_MAX_DELAY_SECONDS = 900
# How long SQS hides a received message at most (12 h counted from its receipt), less a margin for
# the time already spent delivering it: the longest a dispatcher can hold a message it received.
SQS_MAX_VISIBILITY_SECONDS = 43_200 - 600


@dataclass(frozen=True)
class Limits:
    """Limits a publisher can hit; each one maps to a clear 4xx at the API."""

    # SQS carries at most 1 MiB per message. The envelope adds headers and metadata, and a
    # non-UTF-8 body is base64-encoded (4/3), so the raw body limit leaves room for both.
    max_body_bytes: int = 750_000
    # Longer delays than SQS holds need another hop (or a delay schedule).
    max_sqs_delay_seconds: int = SQS_MAX_DELAY_SECONDS
    # Longer delays travel as one-time EventBridge Scheduler schedules; QStash's pay-as-you-go cap.
    max_delay_seconds: int = 365 * 86_400
    default_retries: int = 3
    max_retries: int = 20
    # Per-attempt HTTP timeout: default and ceiling. Bounded by the dispatcher Lambda timeout.
    default_timeout_seconds: int = 300
    max_timeout_seconds: int = 300
    jwt_lifetime_seconds: int = 300
    dedup_window_seconds: int = 600
    max_label_length: int = 256
