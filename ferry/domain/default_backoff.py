"""QStash's default exponential backoff between delivery attempts, and the one-day ceiling every
wait respects. Pure standard library."""

from __future__ import annotations

import math

MAX_BACKOFF_SECONDS = 86_400
"""No wait between two attempts is longer than a day."""

_LOG_MAX_BACKOFF = math.log(MAX_BACKOFF_SECONDS)


def default_backoff_seconds(retried: int) -> float:
    """QStash's default backoff, in seconds.

    `retried` is how many retries have already been made (0 after the first attempt failed). The wait
    before the next attempt is `min(86400, e^(2.5 * (retried + 1)))`: 12.18 s, 148.4 s, 1808 s,
    22026 s, then 86400 s for every later retry. This follows the table in QStash's retry docs.
    Raises ValueError for a negative `retried`.
    """
    if retried < 0:
        raise ValueError(f"retried must be >= 0, not {retried}")
    exponent = 2.5 * (retried + 1)
    if exponent >= _LOG_MAX_BACKOFF:  # also keeps math.exp from overflowing for large counts
        return float(MAX_BACKOFF_SECONDS)
    return math.exp(exponent)
