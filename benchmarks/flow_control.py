"""Benchmark: what queues and flow control cost, and how accurate the rate limiter is, on `ferry dev`.

1. AWS requests and DynamoDB capacity units per message, and SQS receives per message, for N
   messages: without limits; with a flow-control key (parallelism 2, so most messages wait); on a
   queue of parallelism 2.
2. The rate limiter over 30 s: a key with rate=10 per 1 s and more messages than 30 s can start;
   starts per second and the most starts seen in any sliding 1 s window.

Every AWS call of the real handlers and of the dev poller is counted;
requests and DynamoDB units are metered by benchmarks/aws_meter.py (DynamoDB on-demand rules).

Run: `.venv/bin/python -m benchmarks.flow_control` (add `rate` for the rate limiter part only)
"""

from __future__ import annotations

import json
import sys
import threading
import time
import urllib.request
from collections import Counter

from benchmarks.aws_meter import AwsMeter
from ferry.dev.stack import DevStack
from tests.support.target import Reply, Target

N = 40
RATE, RATE_SECONDS = 10, 30
_receives: Counter[str] = Counter()
_lock = threading.Lock()
meter = AwsMeter(ignore_services=("scheduler",))


def _count_receives() -> None:
    """Count how often each message reaches the dispatcher (held ones come back)."""
    from ferry.usecases.deliver_message import DeliverMessage

    original = DeliverMessage.__call__

    def counted(self, message):  # type: ignore[no-untyped-def]
        with _lock:
            _receives[message.envelope.id] += 1
        return original(self, message)

    DeliverMessage.__call__ = counted  # type: ignore[method-assign]


def _post(stack: DevStack, path: str, body: bytes, headers: dict[str, str]) -> str:
    request = urllib.request.Request(stack.url + path, data=body, method="POST")
    request.add_header("Authorization", f"Bearer {stack.secrets.api_token}")
    for name, value in headers.items():
        request.add_header(name, value)
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())["messageId"]


def measure(stack: DevStack, target: Target, name: str, route: str, headers: dict[str, str]) -> None:
    from ferry.wiring import services

    path = f"/{name}"
    target.always(path, Reply(delay=0.2))
    time.sleep(1.5)
    with _lock:
        _receives.clear()
    meter.reset()
    started = time.time()
    ids = [_post(stack, route + target.url(path), b"m", headers) for _ in range(N)]
    target.wait_for(path, count=N, timeout=300)
    history = services().history
    with meter.uncounted():  # the benchmark's own completion checks
        while not all((history.state(i) or "") == "DELIVERED" for i in ids):
            time.sleep(0.2)
    elapsed = time.time() - started
    tally = meter.reset()
    with _lock:
        receives = [_receives[i] for i in ids]
    total = sum(tally.requests.values())
    print(f"\n{name}: {total / N:.2f} AWS requests per message ({elapsed:.1f} s for {N})")
    for key, count in sorted(tally.requests.items()):
        print(f"  {key:40s} {count / N:6.2f}/msg")
    print(f"  DynamoDB units per message: {tally.wru / N:.2f} WRU, {tally.rru / N:.2f} RRU")
    print(f"  receives per message: mean {sum(receives) / N:.2f}, max {max(receives)}")


def _record_grants() -> dict[str, int]:
    """The limiter's own start times (lease id -> grant time in ms, as the last try decided)."""
    from ferry.domain import flow_control

    grants: dict[str, int] = {}
    original = flow_control.acquire

    def recording(state, *, lease_id, now_ms, lease_ms):  # type: ignore[no-untyped-def]
        decision, after = original(state, lease_id=lease_id, now_ms=now_ms, lease_ms=lease_ms)
        if state.name == "bench-rate":
            # The last try decides (an earlier try's grant may have lost its conditional write).
            with _lock:
                if isinstance(decision, flow_control.Lease):
                    grants[lease_id] = now_ms
                else:
                    grants.pop(lease_id, None)
        return decision, after

    flow_control.acquire = recording  # type: ignore[assignment]
    return grants


def _densest_second(times: list[float]) -> int:
    times = sorted(times)
    return max((sum(1 for t in times[i:] if t < s + 1.0) for i, s in enumerate(times)), default=0)


def rate_accuracy(stack: DevStack, target: Target) -> None:
    grants = _record_grants()
    path = "/rate"
    headers = {
        "Upstash-Flow-Control-Key": "bench-rate",
        "Upstash-Flow-Control-Value": f"rate={RATE}, period=1",
    }
    total = RATE * RATE_SECONDS + 60
    for _ in range(total):
        _post(stack, "/v2/publish/" + target.url(path), b"r", headers)
    first = target.wait_for(path, 1, timeout=60)[0].at
    time.sleep(RATE_SECONDS + 1)
    starts = sorted(r.at for r in target.requests_to(path) if r.at < first + RATE_SECONDS)
    per_second = Counter(int(t - first) for t in starts)
    with _lock:
        granted = sorted(ms / 1000 for ms in grants.values())
    granted = [t for t in granted if t < granted[0] + RATE_SECONDS]
    print(f"\nrate limiter: rate={RATE}/s over {RATE_SECONDS} s, {total} messages waiting")
    print(
        f"  limiter grants in {RATE_SECONDS} s: {len(granted)}; most in any sliding 1 s window: "
        f"{_densest_second(granted)} (limit {RATE})"
    )
    print(
        f"  starts in {RATE_SECONDS} s: {len(starts)} (ideal {RATE * RATE_SECONDS}); "
        f"mean {len(starts) / RATE_SECONDS:.2f}/s"
    )
    print(
        f"  at the target, most arrivals in any sliding 1 s window: {_densest_second(starts)} (limit {RATE})"
    )
    print(f"  starts per whole second: min {min(per_second.values())}, max {max(per_second.values())}")


def main() -> None:
    only_rate = sys.argv[1:] == ["rate"]
    _count_receives()
    target = Target()
    try:
        with meter.installed(), DevStack(port=0) as stack:
            if only_rate:
                rate_accuracy(stack, target)
                return
            measure(stack, target, "plain", "/v2/publish/", {})
            key = {"Upstash-Flow-Control-Key": "bench", "Upstash-Flow-Control-Value": "parallelism=2"}
            measure(stack, target, "flow-control-parallelism-2", "/v2/publish/", key)
            upsert = urllib.request.Request(
                stack.url + "/v2/queues",
                data=json.dumps({"queueName": "bench", "parallelism": 2}).encode(),
                method="POST",
                headers={
                    "Authorization": f"Bearer {stack.secrets.api_token}",
                    "Content-Type": "application/json",
                },
            )
            urllib.request.urlopen(upsert, timeout=10).close()
            measure(stack, target, "queue-parallelism-2", "/v2/enqueue/bench/", {})
            rate_accuracy(stack, target)
    finally:
        target.stop()


if __name__ == "__main__":
    main()
