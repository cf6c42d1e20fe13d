"""Benchmark: `ferry dev` throughput beside the raw rate of its emulator for the same calls, in one run.

1. Starts `ferry dev` in this process and, in a child process (benchmarks.client_load.py; as a
   user's app and endpoint are processes of their own), the client threads and a real HTTP
   destination on 127.0.0.1 that answers 200 (`--same-process`: both in this process, as before).
2. Records the AWS calls (operation and parameters) that a few messages make, published one by
   one and delivered: the API handler's (a publish) and the dispatcher's and pollers'.
3. Runs rounds (6; 3 with `--short`) of three slices of `SLICE_SECONDS`, ferry dev's then the
   raw ones in even rounds, the raw ones first in odd rounds (ABBA: the machine's speed drifts
   by up to 1.5x between two 10 s phases here, and a round's slices are seconds apart):
   - ferry dev: 16 client threads publish with plain HTTP (keep-alive, as the SDKs do):
     publishes/s, p50 and p99 latency; then it waits until every message is delivered:
     deliveries/s from the slice's first publish to its last delivery (end to end). Every AWS
     call of ferry dev in the slice is counted by operation (the dev ticker's Scheduler polling
     aside). Then the pollers stop, until the next ferry dev slice.
   - raw: 16 threads replay straight on boto3 clients against the same emulator:
     - the calls of one publish: raw publish-equivalents/s (beside publishes/s: the cost of the
       gateway and the API handler, and of the deliveries sharing the process);
     - the calls of one message end to end, each operation as often per message as the ferry
       dev slices so far counted it (receives and batch deletes about one per few messages, as
       the pollers batch them; a replayed receive takes real messages, as many as the replay
       sent and has not received yet (at most 10), and the deletes remove every message the
       replay received, up to 10 a call: each message received and deleted once, as ferry
       dev's pollers do;
       BatchWriteItem as many items per message, in calls as full, as ferry dev's group
       commit wrote under load, not the one or two items a call recorded alone carries): raw
       message-equivalents/s, beside deliveries/s: the goal's "emulator's raw rate for
       the same calls" (what `ferry dev` adds is the gateway, the API handler, the dispatcher,
       the HTTP deliveries).
     What a raw slice sent and did not take is removed after it (no slice inherits a longer
     queue). Rates are totals over the rounds; each round's ratio is shown too.
4. Before each slice, a fixed pure-Python loop is timed: the machine's speed then, shown as a
   range beside the figures.
5. The CPU inside each AWS call (botocore's `_make_api_call`, the emulator's work included) is
   kept by side and operation over the whole run: ferry dev's calls beside the same operations
   replayed by the raw slices' threads. Their ratio, weighted by each operation's rate per
   message, says how much of the gap to the raw rate is the calls themselves costing more
   among ferry dev's threads rather than ferry dev's own code.

Run: `.venv/bin/python -m benchmarks.dev_throughput [--short] [--rounds N] [--publish-only] [--cpu off]`
(short: 3 rounds, about 70 s in all). `make bench` calls `bench_rows(quick=True)`; `measure(short=True)`
returns the figures. Results go to stdout; docs/benchmarks.md records them with the machine.
"""

from __future__ import annotations

import argparse
import statistics
import threading
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from benchmarks.call_replay import (
    CallRecorder,
    MessageReplay,
    batching,
    drain_queues,
    rates_per_message,
    snake_case,
)
from benchmarks.client_load import CLIENT_THREAD_PREFIX, CLIENT_THREADS, ChildLoad, InProcessLoad
from benchmarks.client_load import in_threads as _in_threads
from benchmarks.thread_cpu import CallsCpu
from ferry.dev.cpu_affinity import CpuChoice, parse_cpu_choice
from ferry.dev.stack import DevStack

# Threads of ferry dev that are not the API: their AWS calls are not part of a publish.
_NOT_API_THREADS = ("poller-", "dispatcher-", "deliver", "scheduler-ticker")
# Each ferry dev and raw slice: long enough that the last deliveries' latency is a small part of
# a slice's end-to-end time, short enough that the machine's speed holds across a round.
SLICE_SECONDS = 5.0
# Every message's body: the recorded calls (which the raw slices replay) carry the same items and
# messages as the load's.
BODY = b"x" * 100


@dataclass(frozen=True)
class Figures:
    client_threads: int
    seconds: float
    publishes: int
    publishes_per_second: float
    p50_ms: float
    p99_ms: float
    deliveries_per_second: float
    aws_calls_per_publish: int
    raw_publish_equivalents_per_second: float
    aws_calls_per_message: float = 0.0
    raw_message_equivalents_per_second: float = 0.0
    calls_by_operation: dict[str, float] = field(default_factory=dict)
    # BatchWriteItem items per message and per call under load (the raw replay writes as many).
    batch_items_per_message: float = 0.0
    batch_items_per_call: int = 0
    # Each round's deliveries/s beside its raw message-equivalents/s (slices seconds apart).
    round_ratios: list[float] = field(default_factory=list)
    # The machine's speed (ms of a fixed pure-Python loop) before the slices, least and most:
    # this shared machine's speed changes by up to 2x within minutes.
    loop_ms_range: tuple[float, float] = (0.0, 0.0)
    # Each round's deliveries/s, raw message-equivalents/s and loop ms before its slices.
    rounds: list[tuple[Any, ...]] = field(default_factory=list)
    # CPU ms per call of each operation both sides made: (in ferry dev, in the raw replay).
    call_cpu_ms: dict[str, tuple[float, float]] = field(default_factory=dict)

    @property
    def call_cpu_ratio(self) -> float:
        """The CPU of ferry dev's AWS calls beside the same calls' in the raw replay: each
        operation's CPU per call in ferry dev and in the replay, weighted by ferry dev's rate of it
        per message (above 1: the same calls cost more among ferry dev's threads)."""
        weights = {op: self.calls_by_operation.get(op, 0.0) for op in self.call_cpu_ms}
        raw = sum(weights[op] * raw_ms for op, (_, raw_ms) in self.call_cpu_ms.items())
        dev = sum(weights[op] * dev_ms for op, (dev_ms, _) in self.call_cpu_ms.items())
        return dev / raw if raw else 0.0

    @property
    def ratio_to_raw(self) -> float:
        """Publishes/s beside the raw rate of a publish's calls."""
        return self.publishes_per_second / self.raw_publish_equivalents_per_second

    @property
    def end_to_end_ratio_to_raw(self) -> float:
        """Deliveries/s (end to end) beside the raw rate of a message's calls, publish and delivery."""
        if not self.raw_message_equivalents_per_second:
            return 0.0
        return self.deliveries_per_second / self.raw_message_equivalents_per_second

    def table(self) -> str:
        lines = [
            f"ferry dev, {self.client_threads} client threads, {self.seconds:.0f} s "
            f"({len(self.round_ratios) or '-'} rounds of {SLICE_SECONDS:.0f} s beside raw slices):",
            f"  publishes/s            {self.publishes_per_second:8.1f}  ({self.publishes} published)",
            f"  publish p50 / p99      {self.p50_ms:8.1f} / {self.p99_ms:.1f} ms",
            f"  deliveries/s           {self.deliveries_per_second:8.1f}  (end to end)",
            f"  raw emulator           {self.raw_publish_equivalents_per_second:8.1f}  publish-equivalents/s "
            f"({self.aws_calls_per_publish} AWS calls each)",
            f"  publishes / raw        {self.ratio_to_raw:8.2f}",
        ]
        lines.append(
            f"  machine speed          {self.loop_ms_range[0]:.0f}-{self.loop_ms_range[1]:.0f} ms per "
            "calibration loop before the slices"
        )
        if self.raw_message_equivalents_per_second:
            lines += [
                f"  raw emulator           {self.raw_message_equivalents_per_second:8.1f}  "
                f"message-equivalents/s ({self.aws_calls_per_message:.2f} AWS calls each: "
                f"{', '.join(f'{op} {rate:.2f}' for op, rate in self.calls_by_operation.items())})",
                f"                         BatchWriteItem: {self.batch_items_per_message:.2f} items per "
                f"message, {self.batch_items_per_call} per call, as ferry dev wrote them",
                f"  deliveries / raw       {self.end_to_end_ratio_to_raw:8.2f}  (same calls; by round: "
                f"{', '.join(f'{r:.2f}' for r in self.round_ratios)})",
                f"  AWS calls' CPU, ferry dev / raw replay {self.call_cpu_ratio:.2f} (ms a call: "
                + ", ".join(f"{op} {dev:.2f} / {raw:.2f}" for op, (dev, raw) in self.call_cpu_ms.items())
                + ")",
            ]
        return "\n".join(lines)


def calibration_loop_ms() -> float:
    """Milliseconds of CPU for 2 million additions in pure Python (the machine's speed now)."""
    started = time.process_time()
    total = 0
    for i in range(2_000_000):
        total += i
    return (time.process_time() - started) * 1000


def _percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


@dataclass
class _Round:
    """One round: a ferry dev slice and the raw slices beside it, at one moment of the machine."""

    published: int = 0
    delivered: int = 0
    delivery_seconds: float = 0.0  # from the slice's first publish to its last delivery
    raw_publishes: int = 0
    raw_messages: int = 0
    loop_ms: list[float] = field(default_factory=list)
    # CPU seconds of this process (ferry dev, or the raw replay) in the slice.
    dev_cpu: float = 0.0
    raw_cpu: float = 0.0

    def delivery_ratio(self, seconds: float) -> float:
        if not self.raw_messages:
            return 0.0
        return (self.delivered / self.delivery_seconds) / (self.raw_messages / seconds)


def measure(
    short: bool = False,
    publish_only: bool = False,
    same_process: bool = False,
    rounds: int | None = None,
    cpu: CpuChoice = "auto",
) -> Figures:
    """The figures; `publish_only` runs without pollers (the gateway and API handler alone);
    `same_process` runs the client threads and the destination in this process (benchmarks.client_load.py);
    `cpu` is ferry dev's `--cpu` (its default: `auto`). The raw slices run in this process, so on
    the same CPU as ferry dev's threads: the emulator's rate as fast as it goes (with
    `same_process`, the client threads and the destination share that CPU too).

    The phases are interleaved in `rounds` of `SLICE_SECONDS` each (ferry dev, then raw; the next
    round raw, then ferry dev: ABBA), because this machine's speed moves by up to 1.5x between
    two 10 s phases: each round's ratio compares slices a few seconds apart."""
    from ferry.wiring import services

    rounds = rounds or (3 if short else 6)
    seconds = SLICE_SECONDS
    with DevStack(port=0, poller_concurrency=0 if publish_only else None, cpu=cpu) as stack:
        load = (InProcessLoad if same_process else ChildLoad)(stack.url, stack.secrets.api_token)
        try:
            svc = services()
            clients = [svc.sqs, svc.dynamodb, svc.secretsmanager, *(p._sqs for p in stack.pollers)]
            recorder = CallRecorder(clients)
            per_call = CallsCpu(clients, key=_side_and_operation)
            by_service = {client.meta.service_model.service_name: client for client in clients}
            load.publish(20, BODY)
            if not publish_only:
                load.delivered(20, timeout=60)
            time.sleep(0.5)  # the warm-up's last deletes
            recorder.recording = True
            # Enough messages that the recording holds a full BatchWriteItem's distinct keys.
            samples = 16
            load.publish(samples, BODY)
            if not publish_only:
                load.delivered(20 + samples, timeout=60)
                time.sleep(0.5)
            recorder.recording = False
            calls = recorder.calls
            publish_calls = [
                (s, o, p) for thread, s, o, p in calls if not thread.startswith(_NOT_API_THREADS)
            ]
            per_publish = round(len(publish_calls) / samples)
            one_publish = publish_calls[-per_publish:]
            examples: dict[str, list[tuple[str, dict[str, Any]]]] = {}
            for _, service, operation, params in calls:
                examples.setdefault(operation, []).append((service, params))
            queues = {p["QueueUrl"] for s, o, p in one_publish if o == "SendMessage"}
            for poller in stack.pollers:
                poller.stop()  # each ferry dev slice starts them, each raw slice runs without

            latencies: list[float] = []
            done: list[_Round] = []

            def dev_slice(now: _Round) -> None:
                for poller in stack.pollers:
                    poller.start()
                load.clear()
                now.loop_ms.append(calibration_loop_ms())
                recorder.counting = True
                cpu = time.process_time()
                first_publish = time.time()
                now.published, slice_latencies = load.run(seconds, BODY)
                latencies.extend(slice_latencies)
                delivered = [] if publish_only else load.delivered(now.published, timeout=300)
                now.delivered = len(delivered)
                now.dev_cpu = time.process_time() - cpu
                now.delivery_seconds = max(delivered, default=first_publish + 1) - first_publish
                for poller in stack.pollers:
                    poller.stop()
                recorder.counting = False

            def replay(_: None) -> None:
                for service, operation, params in one_publish:
                    getattr(by_service[service], snake_case(operation))(**params)

            def raw_slices(now: _Round) -> None:
                now.loop_ms.append(calibration_loop_ms())
                now.raw_publishes, _ = _in_threads(seconds, replay, lambda _: None)
                drain_queues(svc.sqs, queues)
                if publish_only:
                    return
                so_far = sum(r.published for r in done) + now.published
                rates = rates_per_message(recorder.counts, so_far, examples)
                batch = batching(recorder, so_far)
                cpu = time.process_time()
                now.raw_messages, _ = _in_threads(
                    seconds,
                    lambda state: state(),
                    lambda _: MessageReplay(by_service, examples, rates, batch),
                )
                now.raw_cpu = time.process_time() - cpu
                drain_queues(svc.sqs, queues)

            for index in range(rounds):
                now = _Round()
                # ABBA: a drift of the machine's speed within a run favours neither side. The
                # first round measures ferry dev first: the raw replay needs its counts.
                for part in (dev_slice, raw_slices) if index % 2 == 0 else (raw_slices, dev_slice):
                    part(now)
                done.append(now)
        finally:
            load.close()

    published = sum(r.published for r in done)
    seconds_by_call, count_by_call = per_call.take_by_key()
    call_cpu_ms = {
        op: tuple(1000 * seconds_by_call[(side, op)] / count_by_call[(side, op)] for side in ("dev", "raw"))
        for op in sorted({op for _, op in count_by_call})
        if count_by_call[("dev", op)] and count_by_call[("raw", op)]
    }
    rates = rates_per_message(recorder.counts, published, examples) if not publish_only else {}
    items_per_message, items_per_call = batching(recorder, published)
    loops = [ms for r in done for ms in r.loop_ms]
    return Figures(
        client_threads=CLIENT_THREADS,
        seconds=seconds * rounds,
        publishes=published,
        publishes_per_second=published / (seconds * rounds),
        p50_ms=statistics.median(latencies) * 1000,
        p99_ms=_percentile(latencies, 0.99) * 1000,
        deliveries_per_second=sum(r.delivered for r in done) / sum(r.delivery_seconds for r in done),
        aws_calls_per_publish=per_publish,
        raw_publish_equivalents_per_second=sum(r.raw_publishes for r in done) / (seconds * rounds),
        aws_calls_per_message=sum(rates.values()),
        raw_message_equivalents_per_second=sum(r.raw_messages for r in done) / (seconds * rounds),
        calls_by_operation=rates,
        batch_items_per_message=items_per_message,
        batch_items_per_call=items_per_call,
        round_ratios=[round(r.delivery_ratio(seconds), 3) for r in done],
        rounds=[
            (
                round(r.delivered / r.delivery_seconds, 1),
                round(r.raw_messages / seconds, 1),
                r.loop_ms,
                round(1000 * r.dev_cpu / max(1, r.delivered), 2),
                round(1000 * r.raw_cpu / max(1, r.raw_messages), 2),
                round(r.dev_cpu / r.delivery_seconds, 2),
                round(r.raw_cpu / seconds, 2),
            )
            for r in done
        ],
        loop_ms_range=(min(loops), max(loops)),
        call_cpu_ms=call_cpu_ms,  # type: ignore[arg-type]
    )


def _side_and_operation(args: tuple[Any, ...]) -> tuple[str, str]:
    """An AWS call's key: made by the raw replay (its client threads) or by ferry dev, and the
    operation (`_make_api_call`'s first argument)."""
    side = "raw" if threading.current_thread().name.startswith(CLIENT_THREAD_PREFIX) else "dev"
    return side, args[0]


def bench_rows(quick: bool = True) -> list[tuple[str, str]]:
    """`make bench`'s rows (3 rounds)."""
    f = measure(short=quick)
    return [
        (
            "publishes/s at 16 client threads, p50 / p99",
            f"{f.publishes_per_second:.1f}/s, {f.p50_ms:.0f} / {f.p99_ms:.0f} ms",
        ),
        ("deliveries/s end to end", f"{f.deliveries_per_second:.1f}/s"),
        (
            "raw emulator, a publish's calls: rate; publishes / raw",
            f"{f.raw_publish_equivalents_per_second:.1f}/s; {f.ratio_to_raw:.2f}",
        ),
        (
            "raw emulator, a message's calls (publish + delivery): rate; deliveries / raw",
            f"{f.raw_message_equivalents_per_second:.1f}/s ({f.aws_calls_per_message:.2f} calls); "
            f"{f.end_to_end_ratio_to_raw:.2f} (rounds {' / '.join(f'{r:.2f}' for r in f.round_ratios)})",
        ),
        (
            "the same AWS calls' CPU: in ferry dev / in the raw replay",
            f"{f.call_cpu_ratio:.2f}",
        ),
        (
            "machine speed before the slices (calibration loop)",
            f"{f.loop_ms_range[0]:.0f}-{f.loop_ms_range[1]:.0f} ms",
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--short", "--quick", action="store_true", help="3 rounds, not 6 (about 60 s in all)")
    parser.add_argument("--rounds", type=int, help="rounds of slices (default 6, 3 with --short)")
    parser.add_argument("--publish-only", action="store_true", help="pollers off: no deliveries beside")
    parser.add_argument(
        "--same-process", action="store_true", help="client threads and destination in the measuring process"
    )
    parser.add_argument(
        "--cpu", type=parse_cpu_choice, default="auto", help="ferry dev's --cpu: auto (default), off, N"
    )
    args = parser.parse_args()
    figures = measure(
        short=args.short,
        publish_only=args.publish_only,
        same_process=args.same_process,
        rounds=args.rounds,
        cpu=args.cpu,
    )
    print(figures.table())
    print({**asdict(figures), "ratio_to_raw": round(figures.ratio_to_raw, 3)})


if __name__ == "__main__":
    main()
