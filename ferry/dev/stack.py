"""`ferry dev`: the whole stack in one process — emulator, resources, API, dispatcher pollers.

The API and dispatcher are the real Lambda handlers (`ferry.handlers`), configured through the
same environment variables the CDK stack sets; only the event sources are stand-ins.
"""

from __future__ import annotations

import gc
import os
import time
import warnings
from dataclasses import dataclass, field

from ferry.config import DEFAULT_CONFIG, Env, FerryConfig
from ferry.dev.cpu_affinity import CpuChoice, PinnedCpu, pin_process
from ferry.dev.emulator import Emulator
from ferry.dev.gateway import Gateway
from ferry.dev.poller import SqsPoller
from ferry.dev.resources import DevSecrets, provision
from ferry.dev.ticker import SchedulerTicker
from ferry.domain.cron_aws import AwsSchedule
from ferry.usecases.ports import Clock, SystemClock

# Quiet, local-friendly powertools settings (no X-Ray daemon, no EMF lines on stdout).
_POWERTOOLS_DEV_ENV = {
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_METRICS_DISABLED": "true",
    "POWERTOOLS_SERVICE_NAME": "ferry",
}


@dataclass
class DevStack:
    port: int = 8080
    host: str = "127.0.0.1"
    secrets: DevSecrets = field(default_factory=DevSecrets)
    config: FerryConfig = DEFAULT_CONFIG
    log_level: str = "WARNING"
    # Dispatcher invocations in flight per queue at most (the event source mapping's maximum
    # concurrency); None: the configured one (`config.dispatcher.max_concurrency`); 0: no pollers.
    poller_concurrency: int | None = None
    # Concurrent API invocations at most (the API function's concurrency limit in AWS).
    api_concurrency: int = 64
    # The process's threads on one CPU while the stack runs (ferry.dev.cpu_affinity): `ferry
    # dev` says `auto`; off by default here, where the process (a test session, a benchmark) may
    # hold threads of its own that this stack has no business scheduling.
    cpu: CpuChoice = "off"
    emulator: Emulator | None = None
    gateway: Gateway | None = None
    pollers: list[SqsPoller] = field(default_factory=list)
    ticker: SchedulerTicker | None = None
    environ: dict[str, str] = field(default_factory=dict)
    # What the process environment held before start() set `environ` (None: unset), put back by
    # stop(): a second stack in the same process (a test session) must not inherit this one's.
    _saved_environ: dict[str, str | None] = field(default_factory=dict, repr=False)
    clock: Clock = field(default_factory=SystemClock)
    # Whether start() froze the process's heap (only then does stop() hand it back: a stack
    # refused because another runs must not unfreeze the running one's).
    _froze_heap: bool = field(default=False, init=False, repr=False)
    # The CPU start() pinned the process to, and what to put back at stop (None: not pinned).
    pinned: PinnedCpu | None = field(default=None, init=False, repr=False)

    @property
    def url(self) -> str:
        assert self.gateway is not None
        return self.gateway.url

    def start(self) -> DevStack:
        """Start everything, or, if any part fails, stop what had started (the emulator among
        them: one per process) before the error goes on."""
        try:
            return self._start()
        except BaseException:
            self.stop(timeout=5)
            raise

    def _start(self) -> DevStack:
        import boto3

        from ferry import wiring

        self.emulator = Emulator()
        self.emulator.start()
        # Before any thread of the stack starts: each inherits the pin from its creator. After
        # the emulator: a stack refused beside a running one leaves the running one's pin be.
        self.pinned = pin_process(self.cpu)
        env = {**self.emulator.environ(), **_POWERTOOLS_DEV_ENV, "POWERTOOLS_LOG_LEVEL": self.log_level}
        self._set_environ(env)
        # Metrics are off here, and the dispatcher adds none (ferry.handlers): powertools' warning
        # that an invocation published none would only be noise in ferry dev's output.
        warnings.filterwarnings("ignore", message="No application metrics to publish", category=UserWarning)
        settings = self.config.dispatcher
        concurrency = settings.max_concurrency if self.poller_concurrency is None else self.poller_concurrency
        # Every dispatcher "instance" shares this process, and so the deliveries' worker pool
        # (ferry.sqs_batch): size it for all of them at once, so one invocation's slow
        # destinations never hold up another's deliveries (in AWS each instance has its own).
        if Env.DISPATCHER_CONCURRENCY not in os.environ:
            env[Env.DISPATCHER_CONCURRENCY] = str(max(1, concurrency) * min(settings.batch_size, 10))
        session = boto3.session.Session()
        clients = {name: session.client(name) for name in ("sqs", "scheduler")}
        env.update(provision(session, config=self.config, secrets=self.secrets))
        self._set_environ(env)
        self.environ = env
        wiring.reset_services(self.clock)

        # ferry.api.app and ferry.sqs_batch are what the handlers import on their first call;
        # importing them now makes the first request as fast as the next (like a Lambda's init).
        import ferry.api.app
        import ferry.sqs_batch
        from ferry.handlers import api_handler, dispatcher_handler

        assert ferry.api.app.handle and ferry.sqs_batch.handle
        # The handlers' AWS clients as well: their service models are most of what a first
        # request would build (135,000 objects).
        handler_services = wiring.services()
        for client in ("sqs", "dynamodb", "secretsmanager", "scheduler", "stepfunctions"):
            getattr(handler_services, client)
        # What is alive now (botocore's and moto's models, the handlers' modules and clients:
        # about 400,000 objects) lives as long as the stack: kept out of the collector's full
        # passes, which otherwise walked all of it about every 250 messages under load, 0.74-0.78
        # ms of CPU per message (0.06-0.10 frozen; docs/benchmarks.md). Handed back once the
        # emulator stops (reference cycles among these objects wait until then to be freed).
        gc.collect()
        gc.freeze()
        self._froze_heap = True

        self.gateway = Gateway(
            api_handler, host=self.host, port=self.port, max_concurrency=self.api_concurrency
        )
        self.gateway.start()
        for queue_url, batch_size in (
            (env[Env.QUEUE_URL], settings.batch_size),
            (env[Env.FIFO_QUEUE_URL], settings.fifo_batch_size),
        ):
            if not concurrency:
                break  # pollers off: a benchmark or test feeds the dispatcher itself
            poller = SqsPoller(
                clients["sqs"],
                queue_url=queue_url,
                handler=dispatcher_handler,
                batch_size=batch_size,
                concurrency=concurrency,
            )
            poller.start()
            self.pollers.append(poller)
        self.ticker = SchedulerTicker(
            clients["scheduler"],
            clients["sqs"],
            groups=[self.config.names.schedule_group, self.config.names.delay_schedule_group],
            cron_fire_times=lambda expression, timezone, start, end: AwsSchedule(
                expression, timezone
            ).fire_times(start, end),
            now=self.clock.now,
        )
        self.ticker.start()
        return self

    def stop(self, timeout: float | None = None) -> bool:
        """Stop taking requests and messages, then wait up to `timeout` seconds (None: until
        done) for deliveries in flight. The emulator, and with it every message, log and
        schedule, goes only once nothing uses it any more; returns whether everything stopped."""
        deadline = None if timeout is None else time.monotonic() + timeout
        if self.gateway is not None:
            self.gateway.stop()
            self.gateway = None
        if self.ticker is not None:
            self.ticker.stop()
            self.ticker = None
        stopped = all(
            [
                poller.stop(None if deadline is None else max(0.0, deadline - time.monotonic()))
                for poller in self.pollers
            ]
        )
        self.pollers.clear()
        if stopped and self.emulator is not None:
            self.emulator.stop()
            self.emulator = None
            self._restore_environ()
            if self._froze_heap:
                gc.unfreeze()
                self._froze_heap = False
        if self.pinned is not None:
            # Even with deliveries still in flight: the host process must not stay on one CPU.
            self.pinned.release()
            self.pinned = None
        return stopped

    def _set_environ(self, env: dict[str, str]) -> None:
        for name in env:
            self._saved_environ.setdefault(name, os.environ.get(name))
        os.environ.update(env)

    def _restore_environ(self) -> None:
        for name, value in self._saved_environ.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        self._saved_environ.clear()

    def dashboard_url(self) -> str:
        """The dashboard, signed in for the local user by a one-time login code in the fragment
        (never sent to a server or logged; the page swaps it for the token and drops it)."""
        from ferry.wiring import services

        return f"{self.url}/dashboard/#login={services().dashboard_sign_in.mint()}"

    def client_env(self) -> dict[str, str]:
        """What an app using a QStash SDK needs to talk to this stack."""
        return {
            "QSTASH_URL": self.url,
            "QSTASH_TOKEN": self.secrets.api_token,
            "QSTASH_CURRENT_SIGNING_KEY": self.secrets.current_signing_key,
            "QSTASH_NEXT_SIGNING_KEY": self.secrets.next_signing_key,
        }

    def __enter__(self) -> DevStack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
