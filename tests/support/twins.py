"""Ferry's use cases wired to the in-memory twins with a hand-moved clock: a whole delivery
pipeline in one process, without AWS or sockets. `World.dispatch()` plays the event source
mapping: it receives what is visible and deletes what the dispatcher finished."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from itertools import count

from ferry.adapters.memory.clock import ManualClock
from ferry.adapters.memory.dedup import InMemoryDedup
from ferry.adapters.memory.history import InMemoryHistory
from ferry.adapters.memory.keys import InMemoryKeys
from ferry.adapters.memory.queue import InMemoryHeldHeads, InMemoryQueue
from ferry.adapters.memory.target import InMemoryTarget
from ferry.adapters.memory.url_groups import InMemoryUrlGroups
from ferry.domain.limits import Limits
from ferry.usecases.dead_letters import DeadLetters
from ferry.usecases.deliver_message import DeliverMessage, DeliveryReport
from ferry.usecases.delivery_pipeline import DeliveryStep
from ferry.usecases.flow_control_gate import LimitGate
from ferry.usecases.flow_control_step import EnforceLimits
from ferry.usecases.flow_control_store import LimitStore
from ferry.usecases.messages import Messages
from ferry.usecases.publish_message import PublishMessage
from ferry.usecases.queues import Queues
from ferry.usecases.url_groups import UrlGroups

URL = "https://target.example/hook"


@dataclass
class World:
    limits: Limits = field(default_factory=Limits)
    around_attempt: Sequence[DeliveryStep] = ()
    clock: ManualClock = field(default_factory=ManualClock)
    # Queue and flow-control limits, wired in as ferry.wiring does (None: no limits step).
    limit_store: LimitStore | None = None

    def __post_init__(self) -> None:
        ids = count(1)
        self.new_id = lambda: f"msg_{next(ids):04d}"
        self.history = InMemoryHistory()
        self.queue = InMemoryQueue(self.clock)
        self.target = InMemoryTarget()
        self.keys = InMemoryKeys()
        self.dedup = InMemoryDedup(self.clock)
        self.groups = UrlGroups(store=InMemoryUrlGroups(), clock=self.clock, allow_private_destinations=False)
        self.gate = None
        limit_steps: list[DeliveryStep] = []
        if self.limit_store is not None:
            self.gate = LimitGate(store=self.limit_store, clock=self.clock, lease_margin_seconds=10)
            heads = InMemoryHeldHeads(self.queue)
            self.queues = Queues(store=self.limit_store, clock=self.clock, heads=heads)
            limit_steps.append(
                EnforceLimits(gate=self.gate, queue=self.queue, limits=self.limits, history=self.history)
            )
        self.publish = PublishMessage(
            queue=self.queue,
            history=self.history,
            dedup=self.dedup,
            clock=self.clock,
            limits=self.limits,
            allow_private_destinations=False,
            groups=self.groups,
            new_id=self.new_id,
            gate=self.gate,
        )
        self.deliver = DeliverMessage(
            target=self.target,
            keys=self.keys,
            history=self.history,
            queue=self.queue,
            clock=self.clock,
            groups=self.groups,
            new_id=self.new_id,
            limits=self.limits,
            around_attempt=self.around_attempt,
            limit_steps=limit_steps,
        )
        self.messages = Messages(history=self.history, clock=self.clock)
        self.dead_letters = DeadLetters(
            history=self.history,
            queue=self.queue,
            clock=self.clock,
            limits=self.limits,
            allow_private=False,
            new_id=self.new_id,
        )

    def send(self, url: str = URL, headers: Mapping[str, str] | None = None, body: bytes = b"hello") -> str:
        return self.publish(destination=url, headers=dict(headers or {}), body=body).message_id

    def dispatch(self, *, crash: bool = False) -> list[DeliveryReport]:
        """One receive of everything visible, delivered; finished records are deleted. With
        `crash`, the dispatcher dies after delivering: nothing is deleted."""
        reports = []
        for message in self.queue.receive_raw():
            report = self.deliver.received(message)
            reports.append(report)
            if not report.keeps_message_in_queue and not crash:
                self.queue.delete(message)
        return reports

    def states(self, message_id: str) -> list[str]:
        return [str(e.state) for e in self.history.events(message_id)]
