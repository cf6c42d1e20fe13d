"""Whether `ferry dev` still holds anything for a destination, so that a test showing that something
is *not* delivered (a refused request, a cancelled message, a duplicate) waits exactly until the
stack is done with that destination instead of sleeping for a guessed time.

"Held" is what could still reach the destination: a message in a delivery queue (visible, in flight
or delayed) or a one-time delay schedule whose envelope names it, or a request the target is
answering now. A message leaves its queue only after the dispatcher has the destination's answer,
and the target counts a request in flight until it has recorded it; so once nothing is held, the
target's record for the destination is final (nothing more can arrive without a new publish)."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass

from ferry.config import Env
from tests.support.target import Target
from tests.support.waiting import wait_until


@dataclass(frozen=True)
class Queued:
    """A message in a delivery queue, as the emulator keeps it."""

    body: str
    receive_count: int
    hidden_for: float  # seconds until it is visible again (0: visible now)


def queued(stack, url: str | None = None) -> list[Queued]:
    """Every message in the delivery queues (in flight and delayed ones too), or those for `url`.
    The SQS API cannot read them without taking them from the dispatcher: this reads moto's backend."""
    from moto.sqs.models import sqs_backends

    names = {
        stack.environ[name].rstrip("/").rsplit("/", 1)[-1] for name in (Env.QUEUE_URL, Env.FIFO_QUEUE_URL)
    }
    now_ms = time.time() * 1000
    found = []
    for regions in sqs_backends.values():
        for backend in regions.values():
            for name, queue in list(backend.queues.items()):
                if name in names:
                    found.extend(
                        Queued(m.body, m.approximate_receive_count, max(0.0, (m.visible_at - now_ms) / 1000))
                        for m in list(queue._messages)
                    )
    return found if url is None else [m for m in found if _names(m.body, url)]


def _names(text: str, url: str) -> bool:
    return json.dumps(url) in text  # as an envelope holds it: "http://...path", quotes included


def _delay_schedule_inputs(stack) -> list[str]:
    from ferry.wiring import services

    scheduler = services().scheduler
    group = stack.environ[Env.DELAY_SCHEDULE_GROUP]
    inputs = []
    for page in scheduler.get_paginator("list_schedules").paginate(GroupName=group):
        for summary in page.get("Schedules", []):
            schedule = scheduler.get_schedule(GroupName=group, Name=summary["Name"])
            inputs.append(schedule["Target"].get("Input") or "")
    return inputs


def held_for(stack, url: str) -> list[str]:
    """What the stack still holds for deliveries to `url` (exactly that URL, not a longer one)."""
    # A delay schedule's input is the envelope itself (the SendMessage body it sends).
    held = [m.body for m in queued(stack, url)]
    return held + [text for text in _delay_schedule_inputs(stack) if _names(text, url)]


def settled(stack, target: Target, path: str, *, timeout: float = 30.0) -> list:
    """Wait until nothing for `path` is held by the stack or in flight at the target; then what the
    target received for it, final."""

    def quiet() -> bool:
        # In this order: a message that leaves the queue is by then in flight at the target.
        return not held_for(stack, target.url(path)) and target.in_flight_to(path) == 0

    wait_until(quiet, timeout=timeout, interval=0.05, what=f"nothing left to deliver to {path}")
    return target.requests_to(path)


def stored_envelopes_naming(stack, text: str) -> int:
    """How many items of Ferry's table have an `envelope` attribute containing `text`: what a
    DynamoDB Scan with `contains(envelope, :text)` counts, read from moto's backend directly,
    because a filtered Scan of the whole table costs a tenth of a second once a test session has
    filled it, and the refusal checks run it hundreds of times."""
    from moto.dynamodb.models import dynamodb_backends

    name = stack.environ[Env.TABLE_NAME]
    count = 0
    for regions in dynamodb_backends.values():
        for backend in regions.values():
            table = backend.tables.get(name)
            if table is None:
                continue
            for by_range in list(table.items.values()):
                for item in list(by_range.values()) if isinstance(by_range, dict) else [by_range]:
                    envelope = item.attrs.get("envelope")
                    if envelope is not None and envelope.type == "S" and text in envelope.value:
                        count += 1
    return count
