"""Wiring: the one place where clients, clock and settings are built and injected.

Lambda handlers call `services()` once per warm container; `ferry dev` and the integration
tests run the very same handlers, their boto3 calls answered by the in-process emulator
(`ferry/dev/emulator.py`), so nothing here knows whether it runs in AWS or on a laptop.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import cached_property

from ferry.config import RuntimeSettings
from ferry.usecases.ports import Clock, SystemClock


@dataclass
class Services:
    settings: RuntimeSettings
    clock: Clock

    def _client(self, service: str):
        import boto3
        from botocore.config import Config

        return boto3.session.Session().client(
            service,
            # Within the API Lambda's 29 s: 3 attempts of at most 2 s connect + 5 s read each.
            config=Config(
                retries={"mode": "standard", "max_attempts": 3},
                connect_timeout=2,
                read_timeout=5,
                # One connection per concurrent delivery: botocore's default of 10 would open and
                # discard connections when a batch's deliveries write history at once.
                max_pool_connections=max(10, self.settings.dispatcher_concurrency),
            ),
        )

    @cached_property
    def sqs(self):
        return self._client("sqs")

    @cached_property
    def dynamodb(self):
        return self._client("dynamodb")

    @cached_property
    def secretsmanager(self):
        return self._client("secretsmanager")

    @cached_property
    def queue(self):
        from ferry.adapters.sqs_queue import SqsQueue

        s = self.settings
        return SqsQueue(
            self.sqs,
            queue_url=s.queue_url,
            queue_dlq_url=s.queue_dlq_url,
            fifo_queue_url=s.fifo_queue_url,
            fifo_queue_dlq_url=s.fifo_queue_dlq_url,
        )

    @cached_property
    def history(self):
        from ferry.adapters.dynamo_history import DynamoHistory

        config = self.settings.config
        return DynamoHistory(
            self.dynamodb,
            table_name=self.settings.table_name,
            retention_days=self.settings.history_retention_days,
            dlq_retention_days=config.queue_retention_days,
            clock=self.clock,
            level=self.settings.history_level,
        )

    @cached_property
    def dedup(self):
        from ferry.adapters.dynamo_dedup import DynamoDedup

        return DynamoDedup(self.dynamodb, table_name=self.settings.table_name, clock=self.clock)

    @cached_property
    def keys(self):
        from ferry.adapters.secret_keys import SecretKeys

        s = self.settings
        return SecretKeys(
            self.secretsmanager,
            api_token_secret=s.api_token_secret,
            current_secret=s.signing_key_current_secret,
            next_secret=s.signing_key_next_secret,
            max_age=s.secrets_max_age_seconds,
        )

    @cached_property
    def target(self):
        from ferry.adapters.http_target import HttpClientTarget

        return HttpClientTarget(
            allow_private=self.settings.allow_private_destinations,
            # A batch's deliveries to one host reuse their connections instead of discarding them.
            connections_per_host=self.settings.dispatcher_concurrency,
        )

    @cached_property
    def publish(self):
        from ferry.usecases.publish_message import PublishMessage

        return PublishMessage(
            queue=self.queue,
            history=self.history,
            dedup=self.dedup,
            clock=self.clock,
            limits=self.settings.config.limits,
            allow_private_destinations=self.settings.allow_private_destinations,
            delays=self.delays,
            groups=self.url_groups,
            gate=self.gate,
            workflows=self.workflow_runs,
        )

    @cached_property
    def scheduler(self):
        return self._client("scheduler")

    @cached_property
    def delays(self):
        from ferry.adapters.scheduler import SchedulerDelays

        s = self.settings
        if not (s.delay_schedule_group and s.scheduler_role_arn and s.queue_arn):
            return None
        return SchedulerDelays(
            self.scheduler,
            group=s.delay_schedule_group,
            role_arn=s.scheduler_role_arn,
            queue_arn=s.queue_arn,
            dlq_arn=s.scheduler_dlq_arn,
        )

    @cached_property
    def deliver(self):
        from ferry.usecases.deliver_message import DeliverMessage

        deliver = DeliverMessage(
            target=self.target,
            keys=self.keys,
            history=self.history,
            queue=self.queue,
            clock=self.clock,
            jwt_lifetime_seconds=self.settings.config.limits.jwt_lifetime_seconds,
            default_timeout_seconds=self.settings.config.limits.default_timeout_seconds,
            groups=self.url_groups,
            limit_steps=[self.enforce_limits],
        )
        return self.workflow_delivery(deliver) if self.run_driver else deliver

    @cached_property
    def enforce_limits(self):
        from ferry.usecases.flow_control_step import EnforceLimits

        return EnforceLimits(
            gate=self.gate, queue=self.queue, limits=self.settings.config.limits, history=self.history
        )

    @cached_property
    def limit_store(self):
        from ferry.adapters.limit_store import DynamoLimits

        return DynamoLimits(self.dynamodb, table_name=self.settings.table_name)

    @cached_property
    def gate(self):
        from ferry.usecases.flow_control_gate import LimitGate

        return LimitGate(
            store=self.limit_store,
            clock=self.clock,
            default_backpressure_seconds=self.settings.default_backpressure_seconds,
        )

    @cached_property
    def queues(self):
        from ferry.adapters.sqs_heads import SqsHeldHeads
        from ferry.usecases.queues import Queues

        return Queues(store=self.limit_store, clock=self.clock, heads=SqsHeldHeads(self.sqs))

    @cached_property
    def flow_control(self):
        from ferry.usecases.flow_control import FlowControls

        d = self.settings.config.dispatcher
        return FlowControls(
            store=self.limit_store, clock=self.clock, parallelism_max=d.max_concurrency * d.batch_size
        )

    @cached_property
    def stepfunctions(self):
        return self._client("stepfunctions")

    @cached_property
    def run_log(self):
        from ferry.adapters.workflow_run_log import DynamoRunLog

        return DynamoRunLog(self.dynamodb, table_name=self.settings.table_name, clock=self.clock)

    @cached_property
    def run_driver(self):
        from ferry.adapters.step_functions_driver import StepFunctionsDriver

        if not self.settings.run_driver_arn:
            return None
        return StepFunctionsDriver(self.stepfunctions, state_machine_arn=self.settings.run_driver_arn)

    @cached_property
    def workflow_runs(self):
        from ferry.usecases.workflow_runs import WorkflowRuns

        if self.run_driver is None:
            return None
        return WorkflowRuns(
            log=self.run_log,
            driver=self.run_driver,
            history=self.history,
            clock=self.clock,
            waits=self.workflow_waits,
        )

    @cached_property
    def workflow_waits(self):
        from ferry.usecases.workflow_waits import WorkflowWaits

        return WorkflowWaits(log=self.run_log, driver=self.run_driver, clock=self.clock)

    def workflow_delivery(self, deliver):
        from ferry.usecases.workflow_delivery import WorkflowDelivery

        return WorkflowDelivery(
            deliver=deliver,
            log=self.run_log,
            driver=self.run_driver,
            history=self.history,
            queue=self.queue,
            clock=self.clock,
            default_timeout_seconds=self.settings.config.limits.default_timeout_seconds,
            waits=self.workflow_waits,
        )

    @cached_property
    def messages(self):
        from ferry.usecases.messages import Messages

        return Messages(
            history=self.history,
            clock=self.clock,
            bulk_budget_seconds=self.settings.config.bulk_budget_seconds,
        )

    @cached_property
    def url_groups(self):
        from ferry.adapters.url_groups import DynamoUrlGroups
        from ferry.usecases.url_groups import UrlGroups

        return UrlGroups(
            store=DynamoUrlGroups(self.dynamodb, table_name=self.settings.table_name),
            clock=self.clock,
            allow_private_destinations=self.settings.allow_private_destinations,
        )

    @cached_property
    def schedules(self):
        from ferry.adapters.schedules import EventBridgeSchedules
        from ferry.usecases.schedules import Schedules

        s = self.settings
        store = EventBridgeSchedules(
            self.scheduler,
            group=s.schedule_group,
            role_arn=s.scheduler_role_arn,
            queue_arn=s.queue_arn,
            dlq_arn=s.scheduler_dlq_arn,
        )
        return Schedules(
            store=store,
            firings=self.history,
            clock=self.clock,
            limits=s.config.limits,
            allow_private_destinations=s.allow_private_destinations,
            url_groups=self.url_groups,
        )

    @cached_property
    def dead_letters(self):
        from ferry.usecases.dead_letters import DeadLetters

        return DeadLetters(
            history=self.history,
            queue=self.queue,
            clock=self.clock,
            limits=self.settings.config.limits,
            allow_private=self.settings.allow_private_destinations,
            bulk_budget_seconds=self.settings.config.bulk_budget_seconds,
        )

    @cached_property
    def dashboard_sign_in(self):
        from ferry.usecases.dashboard_sign_in import DashboardSignIn

        return DashboardSignIn(api_token=self.keys.api_token, clock=self.clock)


_lock = threading.Lock()
_services: Services | None = None
_clock: Clock = SystemClock()


def services() -> Services:
    """The process-wide services, built on first use from the environment."""
    global _services
    with _lock:
        if _services is None:
            _services = Services(settings=RuntimeSettings.from_env(), clock=_clock)
        return _services


def reset_services(clock: Clock | None = None) -> None:
    """Forget the cached services (after the environment changed, e.g. a new `ferry dev`), and
    optionally use another clock (tests move time forward instead of sleeping)."""
    global _services, _clock
    with _lock:
        _services = None
        _clock = clock or SystemClock()
