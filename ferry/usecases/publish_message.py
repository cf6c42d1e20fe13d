"""Publish: validate -> dedup claim -> history CREATED -> enqueue."""

from __future__ import annotations

import dataclasses
import json
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ferry.domain.envelope import Envelope
from ferry.domain.errors import InvalidInput, Unavailable
from ferry.domain.history import LogEvent, State
from ferry.domain.limits import Limits
from ferry.domain.publish_request import HeaderView, PublishPlan, parse_publish
from ferry.domain.workflow_bodies import parse_invoke
from ferry.domain.workflow_protocol import WorkflowHeaders, parse_workflow_headers
from ferry.usecases.flow_control_gate import LimitGate
from ferry.usecases.ports import Clock, DedupStore, DelayedDelivery, GroupEndpoints, History, MessageQueue

if TYPE_CHECKING:  # workflow_runs imports this module (PublishResult)
    from ferry.usecases.workflow_runs import EventWait


def new_message_id() -> str:
    return "msg_" + secrets.token_hex(16)


@dataclass(frozen=True)
class PublishResult:
    message_id: str
    url: str
    deduplicated: bool = False

    def to_body(self) -> dict[str, object]:
        body: dict[str, object] = {"messageId": self.message_id, "url": self.url}
        if self.deduplicated:
            body["deduplicated"] = True
        return body


class PublishMessage:
    def __init__(
        self,
        *,
        queue: MessageQueue,
        history: History,
        dedup: DedupStore,
        clock: Clock,
        limits: Limits,
        allow_private_destinations: bool,
        delays: DelayedDelivery | None = None,
        groups: GroupEndpoints | None = None,
        new_id: Callable[[], str] = new_message_id,
        gate: LimitGate | None = None,
        workflows: Any = None,
    ) -> None:
        self._gate = gate
        self._workflows = workflows
        self._queue = queue
        self._groups = groups
        self._delays = delays
        self._history = history
        self._dedup = dedup
        self._clock = clock
        self._limits = limits
        self._allow_private = allow_private_destinations
        self._new_id = new_id

    def __call__(
        self,
        *,
        destination: str,
        headers: Mapping[str, str],
        body: bytes,
        caller_ip: str | None = None,
        queue: str | None = None,
        url_group: str | None = None,
        endpoint_name: str | None = None,
        event_wait: EventWait | None = None,
    ) -> PublishResult:
        """`event_wait` makes a workflow step wait for an event (`POST /v2/wait/{eventId}`)."""
        now_ms = int(self._clock.now() * 1000)
        plan = parse_publish(
            destination=destination,
            headers=headers,
            body=body,
            message_id=self._new_id(),
            now_ms=now_ms,
            limits=self._limits,
            allow_private=self._allow_private,
            caller_ip=caller_ip,
            queue=queue,
            url_group=url_group,
            endpoint_name=endpoint_name,
        )
        envelope = plan.envelope
        if self._workflows is not None and (
            workflow := parse_workflow_headers(headers, allow_private=self._allow_private)
        ):
            # A workflow step joins its run's log; the run driver delivers it (docs/workflows.md).
            if workflow.init and (HeaderView(headers).get("Upstash-Workflow-Invoke") or "").lower() == "true":
                return self._invoke(plan, workflow, headers, body, now_ms, caller_ip)
            return self._workflows.accept(plan, workflow, headers, wait=event_wait)
        if plan.dedup_key:
            earlier = self._dedup.claim(
                plan.dedup_key, envelope.id, expires_at=now_ms // 1000 + self._limits.dedup_window_seconds
            )
            if earlier is not None:
                return PublishResult(message_id=earlier, url=envelope.destination, deduplicated=True)
        created = LogEvent.of(envelope, State.CREATED, now_ms, next_delivery_ms=envelope.not_before)
        # History first: an accepted message is always traceable, even if the enqueue below fails
        # (the caller then gets a 503 and nothing is delivered).
        try:
            if self._gate is not None and self._gate.applies(envelope):
                # Joins its queue (lane, lag) and flow-control key (configuration, wait list).
                envelope = self._gate.admit(envelope)
            self._history.message_created(envelope, created)
            self._enqueue(envelope, plan.delay_seconds)
        except Exception as exc:
            if plan.dedup_key:
                # Let the caller's retry through instead of answering "duplicate" for a message
                # that was never enqueued.
                self._dedup.release(plan.dedup_key, envelope.id)
            raise Unavailable(
                f"the message could not be enqueued, nothing was published; retry ({exc})"
            ) from exc
        return PublishResult(message_id=envelope.id, url=envelope.destination)

    def _invoke(
        self,
        plan: PublishPlan,
        child: WorkflowHeaders,
        headers: Mapping[str, str],
        body: bytes,
        now_ms: int,
        caller_ip: str | None,
    ) -> PublishResult:
        """`context.invoke`: the child starts with the invoke's `body`; the parent's result step
        will be delivered to the parent with the parent's headers (parsed as any publish)."""
        invoke = parse_invoke(body)
        text, encoding = Envelope.encode_body(invoke.body.encode())
        child_plan = dataclasses.replace(
            plan, envelope=plan.envelope.model_copy(update={"body": text, "body_encoding": encoding})
        )
        parent_plan = parse_publish(
            destination=invoke.parent_url,
            headers=invoke.parent_headers,
            body=json.dumps({**invoke.step, "stepType": "Invoke"}).encode(),
            message_id=self._new_id(),
            now_ms=now_ms,
            limits=self._limits,
            allow_private=self._allow_private,
            caller_ip=caller_ip,
        )
        return self._workflows.accept_invoke(child_plan, child, headers, invoke, parent_plan)

    def to_group(
        self,
        *,
        group: str,
        headers: Mapping[str, str],
        body: bytes,
        caller_ip: str | None = None,
        queue: str | None = None,
    ) -> list[PublishResult]:
        """Fan out: one message per endpoint of the URL group, each with its own id and fate."""
        if self._groups is None:
            raise InvalidInput("URL groups are not configured in this deployment", field="destination")
        return [
            self(
                destination=endpoint.url,
                headers=headers,
                body=body,
                caller_ip=caller_ip,
                queue=queue,
                url_group=group,
                endpoint_name=endpoint.name,
            )
            for endpoint in self._groups.endpoints(group)
        ]

    def _enqueue(self, envelope: Envelope, delay_seconds: int) -> None:
        if (
            delay_seconds > self._limits.max_sqs_delay_seconds
            and self._delays
            and self._delays.fits(envelope)
        ):
            self._delays.schedule(envelope)
        else:
            # Up to 15 minutes SQS holds the message itself; beyond that (without a scheduler, or
            # for envelopes too big for one) the dispatcher re-enqueues it every 15 minutes.
            self._queue.send(envelope, delay_seconds=delay_seconds)
