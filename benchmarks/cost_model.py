"""The cost model: arithmetic on measured counts, at the list prices of
../shared/reference/aws-limits-and-prices.md (us-east-1, arm64, on-demand, no free tiers).

Inputs, all measured:
- per message (benchmarks/requests_per_message.py, under load): API calls, Lambda invocations,
  SQS and DynamoDB requests, write units (table + index) and read units;
- the publish handler's CPU time and its AWS calls (same run);
- the dispatcher's billed duration per message to a 300 ms endpoint at the default batch, and the
  records per invocation (benchmarks/dispatcher_duration.py).

Lambda duration is what AWS bills at 256 MB, estimated from what was measured here: at 256 MB a
function gets 256/1769 of a vCPU, so CPU time measured on this machine's core is stretched by
1769/256; a handler also waits on its AWS calls, taken as 10 ms each in the same region (an
assumption, not a measurement: the emulator here answers slower). The dispatcher's estimate is
benchmarks/dispatcher_duration.py's upper bound (its wall time here plus its stretched CPU time).
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
    level: str
    scenario: str
    lines: tuple[Line, ...]
    publish_ms: int
    dispatcher_ms: float

    @property
    def total(self) -> float:
        return sum(line.dollars_per_million for line in self.lines)


def publish_billed_ms(run: PerMessage) -> int:
    """Estimated billed ms of one publish at 256 MB: stretched CPU plus its AWS calls' waits."""
    calls = (run.service_requests("dynamodb") + run.requests.get("sqs:SendMessage", 0)) / run.api_invocations
    return math.ceil(run.api_cpu_ms * CPU_STRETCH_AT_256_MB + calls * AWS_CALL_MS)


def bill(run: PerMessage, dispatcher: Run) -> Bill:
    """Dollars per million messages for one measured scenario."""
    million = 1e6
    publish_ms = publish_billed_ms(run)
    # Each received record (a first attempt, or a retry) is one delivery in a batch of the
    # default size, at the measured duration per record.
    dispatcher_ms = dispatcher.estimated_ms_per_message_at_256_mb
    records_per_invocation = dispatcher.messages / dispatcher.batches
    dispatcher_invocations = run.dispatcher_records / records_per_invocation
    lambda_gb_s = (
        (publish_ms * run.api_invocations + dispatcher_ms * run.dispatcher_records) / 1000 * MEMORY_GB
    )
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
        Line(
            "Lambda duration (256 MB, arm64)",
            f"publish {publish_ms} ms + dispatcher {run.dispatcher_records:.0f} x {dispatcher_ms:.1f} ms"
            f" = {lambda_gb_s:.5f} GB-s",
            lambda_gb_s * LAMBDA_PER_GB_SECOND * million,
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
    return Bill(run.level, run.scenario, lines, publish_ms, dispatcher_ms)


def report(bills: list[Bill]) -> None:
    for b in bills:
        print(f"\n[{b.level}] {b.scenario}: ${b.total:.2f} per million (goal ≤ ${GOAL_PER_MILLION:.2f})")
        for line in b.lines:
            print(f"    {line.item:34s} {line.quantity:58s} ${line.dollars_per_million:6.3f}")
