"""Benchmark: `ferry dev`'s own CPU per message beside its AWS calls, one request at a time, beside
dev_throughput's "deliveries / raw" ratio.

dev_throughput compares ferry dev under load with a replay of its AWS calls; both move with this
shared machine's speed (1.5-2x within minutes), so a change worth 5% is lost in its rounds. Here
nothing runs concurrently (no client threads, no pollers) and each figure is the *least* CPU
(`time.process_time`, this process) over many repetitions, interleaved: interference only adds
CPU, so the least is what the work costs.

Measured, per message, in this process (the destination and the HTTP client run in a child
process, benchmarks.client_load.ChildLoad):
- publish over HTTP: a keep-alive client publishes one message after another through the
  gateway (the dev stand-in for API Gateway, then the API handler);
- publish handler: the same request as an event straight to the gateway's invoke (the API
  handler, its powertools resolver and middlewares, the publish use case, its AWS calls);
- publish calls: the AWS calls that publish made (recorded), replayed on the same clients;
- dispatcher: a batch of `BATCH` received messages through the poller's invocation (the
  dispatcher handler delivering them concurrently to the destination, then the batch delete);
- dispatcher calls: the calls that same invocation made, replayed (the delete on fresh receipts);
- of the dispatcher's own code, the HTTP target's `send`: the CPU of the threads inside it
  (request written, response read), per message.

Own code is measured inside each run: the run's CPU less the CPU of the threads inside
botocore's `_make_api_call` (for the gateway: less the CPU inside the handler's invoke), least
over repetitions. (A difference of two least figures, publish handler less publish calls,
mixes repetitions whose calls differ, e.g. how many items the group commit put in each
BatchWriteItem: it moved by up to 2 ms between runs.) Calls cost more inside the run than
replayed alone (they include the call recorder's few µs a call, and run between other code).
The dev ticker's rare calls in a repetition count as own code (the least over repetitions
leaves them out).

And floors, in the same run: what the same work costs at its least in Python here, each alone:
- a gateway whose handler returns a fixed answer (the HTTP front end, nothing behind it), over
  HTTP from a keep-alive client in a child process as above;
- powertools' resolver with validation on, one POST route answering a constant, on the publish
  event (the framework, none of ferry's middlewares or work);
- one delivery request (the headers and body the dispatcher sent) with a bare `http.client`
  keep-alive connection (what the HTTP target used until 2026-12-08), and written and read on a
  plain socket: the exchange only.
Inside ferry dev the HTTP target's `send` costs more than the bare exchange alone: its own steps
(URL split, SSRF pool key, the idle check, timeouts, the result), the batch's concurrent
threads, colder caches; not separated here.

The ratio one at a time is (publish calls + dispatcher calls) / (publish over HTTP +
dispatcher). It is not a bound on the loaded ratio: under load the calls batch differently
(fuller BatchWriteItem calls, smaller dispatcher batches) and both sides pay for interleaved
threads. What the benchmark gives is ferry dev's own code per message, part by part, to tell
whether a change to that code helped (over `--reps 60`, from several runs).

Run: `.venv/bin/python -m benchmarks.dev_handler_overhead [--reps 30]` (`make bench`: 12 reps).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from benchmarks.call_replay import CallRecorder, delete_received, drain_queues, snake_case
from benchmarks.client_load import ChildLoad
from benchmarks.code_floors import Exchanges, constant_resolver, fixed_answer
from benchmarks.dev_throughput import BODY, calibration_loop_ms
from benchmarks.thread_cpu import CallsCpu, ThreadCpu
from ferry.config import Env
from ferry.dev.gateway import Gateway, to_event
from ferry.dev.lambda_context import DevLambdaContext
from ferry.dev.poller import SqsPoller
from ferry.dev.stack import DevStack

# Messages per repetition of a publish figure, and per dispatcher batch (the default batch size).
PUBLISHES = 10
BATCH = 10
# Calls per repetition of a floor measured without HTTP between processes (each well under 1 ms).
FLOOR_CALLS = 50


@dataclass(frozen=True)
class Overhead:
    """Least CPU milliseconds per message of each part."""

    publish_http: float
    publish_handler: float
    publish_calls: float
    dispatcher: float
    dispatcher_calls: float
    gateway_inside: float
    publish_own_inside: float
    publish_calls_inside: float
    dispatcher_own_inside: float
    dispatcher_calls_inside: float
    delivery_http: float
    floor_gateway: float
    floor_resolver: float
    floor_http_client: float
    floor_socket: float
    loop_ms_range: tuple[float, float]

    @property
    def own_inside(self) -> float:
        """Ferry dev's own code per message: the gateway, the API handler, the dispatcher."""
        return self.gateway_inside + self.publish_own_inside + self.dispatcher_own_inside

    @property
    def ratio_one_at_a_time(self) -> float:
        return (self.publish_calls + self.dispatcher_calls) / (self.publish_http + self.dispatcher)

    def table(self) -> str:
        return "\n".join(
            [
                "ferry dev, one request at a time, least CPU per message:",
                f"  publish over HTTP      {self.publish_http:6.2f} ms  (gateway {self.gateway_inside:.2f})",
                f"  publish handler        {self.publish_handler:6.2f} ms  "
                f"(own code {self.publish_own_inside:.2f}, its AWS calls {self.publish_calls_inside:.2f}; "
                f"{self.publish_calls:.2f} replayed alone)",
                f"  dispatcher, batch {BATCH:<3}  {self.dispatcher:6.2f} ms  "
                f"(own code {self.dispatcher_own_inside:.2f}, "
                f"its AWS calls {self.dispatcher_calls_inside:.2f}; "
                f"{self.dispatcher_calls:.2f} replayed alone)",
                f"    of its own code, the HTTP target's send {self.delivery_http:.2f}",
                f"  own code per message   {self.own_inside:6.2f} ms",
                f"  calls / all, one at a time   {self.ratio_one_at_a_time:.2f}  "
                "(not a bound on the loaded ratio)",
                "floors, each alone:",
                f"  gateway, fixed answer  {self.floor_gateway:6.2f} ms",
                f"  powertools resolver    {self.floor_resolver:6.2f} ms  (validation on, constant route)",
                f"  delivery exchange      {self.floor_http_client:6.2f} ms  (http.client; "
                f"{self.floor_socket:.2f} on a plain socket)",
                f"  machine speed          {self.loop_ms_range[0]:.0f}-{self.loop_ms_range[1]:.0f} ms per "
                "calibration loop",
            ]
        )


def _cpu_ms_each(count: int, work: Callable[[], object]) -> float:
    """CPU milliseconds of this process per call of `work`, called `count` times."""
    return _cpu_ms(count, lambda: [work() for _ in range(count)])


def _cpu_ms(count: int, work: Callable[..., object], *args: Any) -> float:
    """CPU milliseconds of this process per message for `work(*args)` over `count` messages."""
    started = time.process_time()
    work(*args)
    return (time.process_time() - started) * 1000 / count


def measure(reps: int = 30) -> Overhead:
    from ferry.wiring import services

    with DevStack(port=0, poller_concurrency=0) as stack:
        # Imported once the stack has set the environment (its log level among it), as ferry
        # dev's own pollers do.
        from ferry.handlers import dispatcher_handler

        assert stack.gateway is not None
        gateway = stack.gateway
        load = ChildLoad(stack.url, stack.secrets.api_token)
        fixed = Gateway(fixed_answer)
        fixed.start()
        fixed_load = ChildLoad(fixed.url, "floor")
        resolver = constant_resolver()
        exchanges: Exchanges | None = None
        measured: list[ThreadCpu | CallsCpu] = []
        try:
            svc = services()
            send_cpu = ThreadCpu(svc.target, "send")
            invoke_cpu = ThreadCpu(gateway, "invoke")
            calls_cpu = CallsCpu([svc.sqs, svc.dynamodb, svc.secretsmanager])
            measured += [send_cpu, invoke_cpu, calls_cpu]
            queue_url = stack.environ[Env.QUEUE_URL]
            poller = SqsPoller(
                svc.sqs, queue_url=queue_url, handler=dispatcher_handler, batch_size=BATCH, concurrency=1
            )
            calls = CallRecorder([svc.sqs, svc.dynamodb], deep=False)
            clients = {"sqs": svc.sqs, "dynamodb": svc.dynamodb}
            headers = [
                ("Host", stack.url.removeprefix("http://")),
                ("Authorization", f"Bearer {stack.secrets.api_token}"),
                ("Content-Type", "text/plain"),
                ("Content-Length", str(len(BODY))),
            ]

            def event() -> dict[str, Any]:
                return to_event(
                    method="POST",
                    target=f"/v2/publish/{load.destination}",
                    headers=headers,
                    body=BODY,
                    source_ip="127.0.0.1",
                )

            def publish_one() -> None:
                response = gateway.invoke(event())
                if response["statusCode"] != 200:
                    raise RuntimeError(f"publish answered {response['statusCode']}: {response.get('body')}")

            def resolve_constant() -> None:
                response = resolver.resolve(event(), DevLambdaContext("ferry-api"))
                if response["statusCode"] != 200:
                    raise RuntimeError(f"the constant route answered {response['statusCode']}")

            def publish_many() -> None:
                for _ in range(PUBLISHES):
                    publish_one()

            def received(count: int) -> list[dict[str, Any]]:
                messages: list[dict[str, Any]] = []
                while len(messages) < count:
                    messages += poller.receive(0)
                return messages

            def drain() -> None:
                drain_queues(svc.sqs, {queue_url})

            def replay(made: list[tuple[str, str, str, dict[str, Any]]], fresh: list[dict[str, Any]]) -> None:
                for _, service, operation, params in made:
                    if operation == "DeleteMessageBatch":
                        # The recorded receipts are spent: delete the fresh batch's instead.
                        delete_received(clients[service], queue_url, fresh)
                    else:
                        getattr(clients[service], snake_case(operation))(**params)

            # Warm-up: first calls build models, connections, the delivery pool.
            load.publish(PUBLISHES, BODY)
            drain()
            for _ in range(3):
                for _ in range(BATCH):
                    publish_one()
                poller.process(received(BATCH))
            send_cpu.take_ms()
            exchanges = Exchanges(send_cpu.last_args[0])
            fixed_load.publish(PUBLISHES, BODY)
            for warm_up in (
                resolve_constant,
                exchanges.exchange_with_http_client,
                exchanges.exchange_on_socket,
            ):
                _cpu_ms_each(FLOOR_CALLS, warm_up)

            best: dict[str, float] = {}
            loops: list[float] = []

            def keep(name: str, ms: float) -> None:
                best[name] = min(best.get(name, ms), ms)

            for _ in range(reps):
                loops.append(calibration_loop_ms())
                invoke_cpu.take_ms()
                spent = _cpu_ms(PUBLISHES, load.publish, PUBLISHES, BODY)
                keep("publish_http", spent)
                keep("gateway_inside", spent - invoke_cpu.take_ms() / PUBLISHES)
                drain()
                calls.recording = True
                calls_cpu.take_ms()
                spent = _cpu_ms(PUBLISHES, publish_many)
                inside = calls_cpu.take_ms() / PUBLISHES
                keep("publish_handler", spent)
                keep("publish_own_inside", spent - inside)
                keep("publish_calls_inside", inside)
                calls.recording = False
                made = calls.take()
                drain()
                keep("publish_calls", _cpu_ms(PUBLISHES, replay, made, []))
                drain()

                for _ in range(BATCH):
                    publish_one()
                batch = received(BATCH)
                calls.recording = True
                send_cpu.take_ms()
                calls_cpu.take_ms()
                spent = _cpu_ms(BATCH, poller.process, batch)
                inside = calls_cpu.take_ms() / BATCH
                keep("dispatcher", spent)
                keep("dispatcher_own_inside", spent - inside)
                keep("dispatcher_calls_inside", inside)
                keep("delivery_http", send_cpu.take_ms() / BATCH)
                calls.recording = False
                made = calls.take()
                for _ in range(BATCH):
                    publish_one()
                fresh = received(BATCH)
                keep("dispatcher_calls", _cpu_ms(BATCH, replay, made, fresh))
                drain()

                keep("floor_gateway", _cpu_ms(PUBLISHES, fixed_load.publish, PUBLISHES, BODY))
                keep("floor_resolver", _cpu_ms_each(FLOOR_CALLS, resolve_constant))
                keep("floor_http_client", _cpu_ms_each(FLOOR_CALLS, exchanges.exchange_with_http_client))
                keep("floor_socket", _cpu_ms_each(FLOOR_CALLS, exchanges.exchange_on_socket))
        finally:
            for wrapper in measured:
                wrapper.remove()
            if exchanges is not None:
                exchanges.close()
            fixed_load.close()
            fixed.stop()
            load.close()
    return Overhead(**best, loop_ms_range=(min(loops), max(loops)))


def bench_rows(quick: bool = True) -> list[tuple[str, str]]:
    """`make bench`'s rows."""
    o = measure(reps=12 if quick else 30)
    return [
        (
            "one at a time, least CPU / message: publish over HTTP; dispatcher, batch of "
            f"{BATCH} (AWS calls replayed alone)",
            f"{o.publish_http:.2f} ms ({o.publish_calls:.2f}); "
            f"{o.dispatcher:.2f} ms ({o.dispatcher_calls:.2f})",
        ),
        (
            "one at a time: own code per message (gateway; API handler; dispatcher, of it the HTTP "
            "target's send)",
            f"{o.own_inside:.2f} ms ({o.gateway_inside:.2f}; {o.publish_own_inside:.2f}; "
            f"{o.dispatcher_own_inside:.2f}, {o.delivery_http:.2f})",
        ),
        ("one at a time: AWS calls / all CPU per message", f"{o.ratio_one_at_a_time:.2f}"),
        (
            "floors alone: gateway with a fixed answer; powertools resolver; delivery exchange "
            "(http.client; plain socket)",
            f"{o.floor_gateway:.2f}; {o.floor_resolver:.2f}; {o.floor_http_client:.2f} ms "
            f"({o.floor_socket:.2f})",
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=30, help="repetitions (default 30)")
    args = parser.parse_args()
    print(measure(reps=args.reps).table())


if __name__ == "__main__":
    main()
