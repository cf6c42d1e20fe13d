"""Named queues: parallelism, pause, lanes and the queue object QStash returns.

A queue's limit state is a `LimitState` of kind "queue" (ferry.domain.flow_control), so the same
lease/pause logic caps a queue and a flow-control key. What is queue-only lives here: names, the
lane a new message joins, and receives spent held.
"""

from __future__ import annotations

import re
from dataclasses import replace

from ferry.domain.errors import InvalidInput
from ferry.domain.flow_control import LimitState, check_parallelism, new_state

# Lanes become SQS FIFO MessageGroupIds (`<name>~<lane>`, at most 128 characters).
QUEUE_NAME = re.compile(r"^[A-Za-z0-9._\-]{1,80}$")
DEFAULT_PARALLELISM = 1


def check_queue_name(name: str, *, field: str = "queueName", where: str = "") -> str:
    """The one check (and message) for a queue name, wherever it arrives: the queues API, the
    enqueue path, a batch item (`where`: "batch item 3: "), a schedule's Upstash-Queue-Name."""
    if not isinstance(name, str) or not QUEUE_NAME.fullmatch(name):
        raise InvalidInput(
            f"{where}{field}: {name!r} is not a queue name (1-80 letters, digits, '-', '_' or '.')",
            field=field,
        )
    return name


def new_queue(name: str, now_ms: int) -> LimitState:
    return replace(new_state("queue", name, now_ms), parallelism=DEFAULT_PARALLELISM)


def upsert(state: LimitState | None, *, name: str, parallelism: int, paused: bool, now_ms: int) -> LimitState:
    check_parallelism(parallelism, field="parallelism")
    base = state or new_queue(name, now_ms)
    return replace(base, parallelism=parallelism, paused=paused, updated_ms=now_ms)


def enqueued(state: LimitState | None, *, name: str, now_ms: int) -> tuple[int, LimitState]:
    """A message joins the queue (created with defaults if missing, as QStash does): returns its
    lane. Lanes spread messages round-robin over `parallelism` FIFO groups, so up to that many
    are in flight while each lane keeps publish order."""
    base = state or new_queue(name, now_ms)
    lane = base.enqueued % max(base.parallelism or 1, 1)
    return lane, replace(base, enqueued=base.enqueued + 1, waiting=base.waiting + 1)


def message_group(queue: str, lane: int) -> str:
    return queue if lane == 0 else f"{queue}~{lane}"


# Held-receive counts kept at most (one per lane head in normal operation; the cap bounds the item
# if heads are lost, e.g. a queue deleted and recreated while its messages were held).
MAX_HELD_ENTRIES = 500


def note_held(
    state: LimitState, message_id: str, *, parked_at: tuple[str, str] | None = None
) -> tuple[int, LimitState]:
    """A FIFO head was held (paused, full, rate): count it so the hold is not a retry. A head held
    because the queue is paused is parked: its receipt is kept so that resume can wake it."""
    count = state.held.get(message_id, 0)
    held = {**state.held, message_id: count + 1}
    if len(held) > MAX_HELD_ENTRIES:
        held = dict(list(held.items())[-MAX_HELD_ENTRIES:])
    parked = {k: v for k, v in state.parked.items() if k in held}
    if parked_at is not None:
        parked[message_id] = list(parked_at)
    return count, replace(state, held=held, parked=parked)


def start_held(state: LimitState, message_id: str) -> tuple[int, LimitState]:
    """The receives this message spent held, as it starts an attempt. The count stays until the
    message is done (`take_held`): a failed attempt is retried as a later receive of the same SQS
    message, whose receive count still includes the held ones. It is no longer parked."""
    if message_id not in state.parked:
        return state.held.get(message_id, 0), state
    parked = {k: v for k, v in state.parked.items() if k != message_id}
    return state.held.get(message_id, 0), replace(state, parked=parked)


def take_held(state: LimitState, message_id: str) -> tuple[int, LimitState]:
    """The receives this message spent held, forgotten as it is done (delivered, dead-lettered,
    cancelled or re-sent as a new SQS message that carries its attempts)."""
    if message_id not in state.held and message_id not in state.parked:
        return 0, state
    return state.held.get(message_id, 0), replace(
        state,
        held={k: v for k, v in state.held.items() if k != message_id},
        parked={k: v for k, v in state.parked.items() if k != message_id},
    )


def unpark(state: LimitState) -> tuple[list[tuple[str, str]], LimitState]:
    """The parked heads to wake (queue url, receipt handle), forgotten in the state."""
    woken = [(url, receipt) for url, receipt in state.parked.values()]
    return woken, replace(state, parked={})


def queue_body(state: LimitState, now_ms: int) -> dict[str, object]:
    """The Queue object of `GET /v2/queues/{name}` (py SDK requires every key)."""
    return {
        "name": state.name,
        "parallelism": state.parallelism or DEFAULT_PARALLELISM,
        "createdAt": state.created_ms,
        "updatedAt": state.updated_ms,
        "lag": state.waiting,
        "paused": state.paused,
        "inFlight": len(state.live_leases(now_ms)),
    }
