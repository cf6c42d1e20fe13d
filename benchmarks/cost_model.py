"""The cost model: arithmetic on measured counts, at the list prices of
../shared/reference/aws-limits-and-prices.md (us-east-1, arm64, on-demand, no free tiers).

Inputs, all measured:
- per message (benchmarks/requests_per_message.py, under load): API calls, Lambda invocations,
  SQS and DynamoDB requests, write units (table + index) and read units;
- the publish handler's CPU time and its AWS calls (same run);
- the dispatcher's billed duration per message to a 300 ms endpoint at the default batch, and the
  records per invocation (benchmarks/dispatcher_duration.py).

Lambda duration is priced twice. "Measured here": the handlers' billed wall time on this machine
(rounded up to 1 ms per invocation, 256 MB), as the dispatcher goal defines it. "At 256 MB's CPU
share": an estimate of what Lambda would bill, since at 256 MB a function gets 256/1769 of a
vCPU: CPU time measured on this machine's core (for the publish handler, without the emulator's
side of its AWS calls and the meter's hooks, which run in its thread here but not in Lambda:
benchmarks.aws_meter.cpu_outside_lambda) is stretched by 1769/256, plus, for the publish
handler, 10 ms per AWS call (an assumed same-region round trip, not a measurement); for the
dispatcher, benchmarks/dispatcher_duration.py's upper bound (wall time here plus stretched CPU).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from benchmarks.dispatcher_duration import CPU_STRETCH_AT_256_MB, MEMORY_GB, Run
from benchmarks.requests_per_message import PerMessage

# List prices, us-east-1 (../shared/reference/aws-limits-and-prices.md).
API_GATEWAY_PER_REQUEST = 1.00 / 1e6  # HTTP API, first 300 M
LAMBDA_PER_REQUEST = 0.20 / 1e6
LAMBDA_PER_GB_SECOND = 0.0000133334  # arm64
SQS_PER_REQUEST = 0.40 / 1e6  # standard queue
DYNAMODB_PER_WRU = 0.625 / 1e6  # on-demand
DYNAMODB_PER_RRU = 0.125 / 1e6
SECRETS_MANAGER_PER_CALL = 0.05 / 10_000

# Assumed round trip of one DynamoDB or SQS call from Lambda in the same region.
AWS_CALL_MS = 10
GOAL_PER_MILLION = 3.10


@dataclass(frozen=True)
class Line:
    item: str
    quantity: str
    dollars_per_million: float


@dataclass(frozen=True)
class Bill:
    """Dollars per million messages. Lambda duration twice: as measured on this machine, and as
    estimated for Lambda's CPU share at 256 MB (both are in `lines`; each total takes one)."""

    level: str
    scenario: str
    body: str  # "1024 B json": size and kind (PerMessage.body)
    lines: tuple[Line, ...]
    measured_duration: Line
    estimated_duration: Line

    @property
    def total(self) -> float:
        return (
            sum(line.dollars_per_million for line in self.lines) + self.measured_duration.dollars_per_million
        )

    @property
    def total_at_256_mb_cpu_share(self) -> float:
        return (
            sum(line.dollars_per_million for line in self.lines) + self.estimated_duration.dollars_per_million
        )


def publish_estimated_ms(run: PerMessage) -> int:
    """Estimated billed ms of one publish at 256 MB: stretched CPU plus its AWS calls' waits."""
    # (Its own calls, counted in its thread: the dispatcher's waits are in its measured wall time.)
    return math.ceil(run.api_cpu_ms * CPU_STRETCH_AT_256_MB + run.api_aws_calls * AWS_CALL_MS)


def _duration(label: str, publish_ms: float, dispatcher_ms: float, run: PerMessage) -> Line:
    # Each received record (a first attempt, or a retry) is one delivery in a batch of the
    # default size, at the measured duration per record.
    gb_s = (publish_ms * run.api_invocations + dispatcher_ms * run.dispatcher_records) / 1000 * MEMORY_GB
    return Line(
        f"Lambda duration, {label}",
        f"publish {publish_ms:.0f} ms + dispatcher {run.dispatcher_records:.0f} x {dispatcher_ms:.1f} ms"
        f" = {gb_s:.5f} GB-s",
        gb_s * LAMBDA_PER_GB_SECOND * 1e6,
    )


def bill(run: PerMessage, dispatcher: Run) -> Bill:
    """Dollars per million messages for one measured scenario."""
    million = 1e6
    records_per_invocation = dispatcher.messages / dispatcher.batches
    dispatcher_invocations = run.dispatcher_records / records_per_invocation
    sqs = run.service_requests("sqs")
    lines = (
        Line(
            "API Gateway HTTP API",
            f"{run.api_invocations:.2f} requests",
            run.api_invocations * API_GATEWAY_PER_REQUEST * million,
        ),
        Line(
            "Lambda requests",
            f"{run.api_invocations:.2f} publish + {dispatcher_invocations:.3f} dispatcher",
            (run.api_invocations + dispatcher_invocations) * LAMBDA_PER_REQUEST * million,
        ),
        Line("SQS", f"{sqs:.2f} requests", sqs * SQS_PER_REQUEST * million),
        Line(
            "DynamoDB writes",
            f"{run.wru:.2f} WRU ({run.table_wru:.2f} table + {run.index_wru:.2f} index)",
            run.wru * DYNAMODB_PER_WRU * million,
        ),
        Line(
            "DynamoDB reads",
            f"{run.rru:.2f} RRU ({run.strong_reads:.2f} strongly consistent reads)",
            run.rru * DYNAMODB_PER_RRU * million,
        ),
    )
    return Bill(
        level=run.level,
        scenario=run.scenario,
        body=run.body,
        lines=lines,
        measured_duration=_duration(
            "measured here (256 MB)", run.api_billed_ms, dispatcher.billed_ms_per_message, run
        ),
        estimated_duration=_duration(
            "at 256 MB's CPU share (estimate)",
            publish_estimated_ms(run),
            dispatcher.estimated_ms_per_message_at_256_mb,
            run,
        ),
    )


def report(bills: list[Bill]) -> None:
    for b in bills:
        print(
            f"\n[{b.level}] {b.scenario}, {b.body} body: ${b.total:.2f} per million "
            f"(${b.total_at_256_mb_cpu_share:.2f} at 256 MB's CPU share; goal ≤ ${GOAL_PER_MILLION:.2f})"
        )
        for line in (*b.lines, b.measured_duration, b.estimated_duration):
            print(f"    {line.item:45s} {line.quantity:60s} ${line.dollars_per_million:6.3f}")


def main() -> None:
    from benchmarks import dispatcher_duration, requests_per_message
    from ferry.config import DEFAULT_CONFIG

    settings = DEFAULT_CONFIG.dispatcher
    runs, _ = requests_per_message.measure(n=20)
    [dispatcher] = dispatcher_duration.measure(((settings.batch_size, settings.concurrency),), batches=2)
    report([bill(run, dispatcher) for run in runs])


if __name__ == "__main__":
    main()
