"""`ferry dev`'s SQS pollers behave like Lambda's event source mapping: more invocations start
while earlier ones wait on slow destinations, so a fast destination's message is not held up
(issue 14, item 5)."""

from __future__ import annotations

import time

import pytest

from tests.support.target import Reply
from tests.support.waiting import wait_until

pytestmark = pytest.mark.integration

SLOW_IN_FLIGHT = 20
# The scenario has a 30 s destination; 10 s keeps the point (every slow delivery is still
# waiting when the fast one lands) and the session's teardown short.
SLOW_SECONDS = 10


def test_a_fast_destination_gets_its_message_within_1_s_while_20_slow_deliveries_are_in_flight(
    stack, target, path, qstash
):
    slow, fast = f"{path}/slow", f"{path}/fast"
    target.always(slow, Reply(200, delay=SLOW_SECONDS))
    for i in range(SLOW_IN_FLIGHT):
        qstash.message.publish(url=target.url(slow), body=f"slow {i}".encode())
    wait_until(lambda: target.in_flight_to(slow) >= SLOW_IN_FLIGHT, what="20 slow deliveries in flight")

    published = time.time()
    qstash.message.publish(url=target.url(fast), body=b"fast")
    [got] = target.wait_for(fast, timeout=SLOW_SECONDS)

    assert target.requests_to(slow) == [], "the fast message landed while every slow one was in flight"
    assert got.at - published < 1.0, f"delivered {got.at - published:.2f} s after publishing"
