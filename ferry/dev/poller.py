"""A stand-in for Lambda's SQS event source mapping: receive a batch, call the real dispatcher
handler with a Lambda-shaped SQS event, delete what it did not report in `batchItemFailures`.

Semantics kept from the real thing:
- batches of up to `batch_size`, partial batch responses; when the handler raises, nothing is
  deleted (the whole batch comes back after the visibility timeout);
- no head-of-line blocking: the mapping starts another invocation for the next batch while
  earlier ones still wait on their destinations, up to `concurrency` invocations in flight
  (the mapping's maximum concurrency), each in a thread of its own like a Lambda instance;
- a FIFO queue never hands out a message group that is in flight (the emulator enforces it, as
  SQS does), so groups run in parallel and each group in order.

One receiver loop per queue: receives are sequential (moto's receive is not atomic across
concurrent callers), invocations are not.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from ferry.dev.lambda_context import DevLambdaContext

log = logging.getLogger("ferry.dev")
# Under load, how long a batch that is not full waits to fill (the mapping's batching window is
# up to `DispatcherSettings.max_batching_window_seconds`; a shorter one keeps ferry dev prompt).
GATHER_SECONDS = 0.05
MAX_IDLE_WAIT_SECONDS = 0.2
Handler = Callable[[dict[str, Any], Any], dict[str, Any]]


def to_sqs_event(messages: list[dict[str, Any]], queue_arn: str, region: str) -> dict[str, Any]:
    records = []
    for m in messages:
        attributes = m.get("MessageAttributes") or {}
        records.append(
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": m.get("Attributes") or {},
                "messageAttributes": {
                    name: {
                        "stringValue": value.get("StringValue"),
                        "binaryValue": value.get("BinaryValue"),
                        "stringListValues": [],
                        "binaryListValues": [],
                        "dataType": value["DataType"],
                    }
                    for name, value in attributes.items()
                },
                "md5OfBody": m.get("MD5OfBody"),
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": region,
            }
        )
    return {"Records": records}


class SqsPoller:
    def __init__(
        self,
        sqs: Any,
        *,
        queue_url: str,
        handler: Handler,
        batch_size: int = 10,
        concurrency: int = 2,
        wait_seconds: int = 1,
        region: str = "us-east-1",
    ) -> None:
        self._sqs = sqs
        self._queue_url = queue_url
        self._handler = handler
        self._batch_size = batch_size
        self._region = region
        self._fifo = queue_url.endswith(".fifo")
        # moto's long poll on a FIFO queue spins while only in-flight groups have messages:
        # poll FIFO queues briefly instead, and wait here between empty receives, longer the
        # longer the queue stays empty (50 ms, doubling up to 200 ms: 5 receives a second idle,
        # not 20), back to 50 ms once a receive brings something.
        self._wait = 0 if self._fifo else wait_seconds
        self._idle_wait = 0.05 if self._fifo else 0.0
        self._idle_wait_now = self._idle_wait
        self._slots = threading.BoundedSemaphore(concurrency)
        self._stop = threading.Event()
        self._in_flight: set[threading.Thread] = set()
        self._lock = threading.Lock()
        self._arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        self._name = queue_url.rsplit("/", 1)[-1]
        self._receiver = self._new_receiver()

    def _new_receiver(self) -> threading.Thread:
        return threading.Thread(target=self._run, name=f"poller-{self._name}", daemon=True)

    def start(self) -> None:
        """Start receiving; after `stop`, start again (a mapping disabled, then enabled: what
        arrived meanwhile is received then)."""
        if self._receiver.is_alive():
            raise RuntimeError(f"the poller of {self._name} is already receiving")
        if self._receiver.ident is not None:
            self._stop.clear()
            self._receiver = self._new_receiver()
        self._receiver.start()

    def stop(self, timeout: float | None = None) -> bool:
        """Stop receiving; wait up to `timeout` (None: for ever) for invocations in flight.
        Returns whether everything finished."""
        deadline = None if timeout is None else time.monotonic() + timeout
        self._stop.set()
        threads = [self._receiver]
        with self._lock:
            threads.extend(self._in_flight)
        for thread in threads:
            if thread.ident is None:
                continue  # never started
            thread.join(None if deadline is None else max(0.0, deadline - time.monotonic()))
        with self._lock:
            return not self._receiver.is_alive() and not self._in_flight

    def _run(self) -> None:
        while not self._stop.is_set():
            # A free invocation first: what is received is handed to the handler at once, so no
            # message spends its visibility timeout waiting in ferry dev.
            if not self._slots.acquire(timeout=0.2):
                continue
            try:
                messages = [] if self._stop.is_set() else self._receive()
            except Exception:  # keep polling, as the real event source mapping does
                self._slots.release()
                log.exception("poller error on %s", self._queue_url)
                self._stop.wait(1)
                continue
            if not messages:
                self._slots.release()
                self._stop.wait(self._idle_wait_now)
                self._idle_wait_now = min(self._idle_wait_now * 2, MAX_IDLE_WAIT_SECONDS)
                continue
            self._idle_wait_now = self._idle_wait
            invocation = threading.Thread(
                target=self._invoke, args=(messages,), name=f"dispatcher-{self._name}", daemon=True
            )
            with self._lock:
                self._in_flight.add(invocation)
            invocation.start()

    def _invoke(self, messages: list[dict[str, Any]]) -> None:
        try:
            self.process(messages)
        except Exception:
            log.exception("poller error on %s", self._queue_url)
        finally:
            with self._lock:
                self._in_flight.discard(threading.current_thread())
            self._slots.release()

    def _receive(self) -> list[dict[str, Any]]:
        """One batch: a (long-polled) receive, then more receives without waiting while the last
        came back full, up to `batch_size` (the mapping gathers batches above SQS's 10 per
        receive). Under load (invocations in flight), a batch that is not full waits once for
        `GATHER_SECONDS` to fill, as the mapping's batching window would (fewer, fuller
        invocations: a receive, a delete and an invocation's set-up per batch, not per message);
        with nothing in flight, what arrives is handed over at once."""
        messages = self.receive(self._wait)
        gathered = self._fifo  # FIFO: groups already in flight would not come anyway
        while messages and len(messages) < self._batch_size:
            if len(messages) % 10 and not gathered and self._busy():
                gathered = True
                if self._stop.wait(GATHER_SECONDS):
                    break
            elif len(messages) % 10:
                break
            more = self.receive(0)
            if not more:
                break
            messages.extend(more)
        return messages

    def _busy(self) -> bool:
        with self._lock:
            return bool(self._in_flight)

    def receive(self, wait_seconds: int) -> list[dict[str, Any]]:
        """One ReceiveMessage, asking for what the event source mapping asks for."""
        response = self._sqs.receive_message(
            QueueUrl=self._queue_url,
            # SQS hands out at most 10 per receive.
            MaxNumberOfMessages=min(self._batch_size, 10),
            WaitTimeSeconds=wait_seconds,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        return response.get("Messages") or []

    def process(self, messages: list[dict[str, Any]]) -> None:
        """One invocation: the handler on the batch, then delete all but its reported failures."""
        event = to_sqs_event(messages, self._arn, self._region)
        try:
            result = self._handler(event, DevLambdaContext("ferry-dispatcher")) or {}
        except Exception:
            log.exception("dispatcher handler raised; the batch returns after the visibility timeout")
            return
        failed = {item["itemIdentifier"] for item in result.get("batchItemFailures") or []}
        done = [m for m in messages if m["MessageId"] not in failed]
        for start in range(0, len(done), 10):
            self._sqs.delete_message_batch(
                QueueUrl=self._queue_url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                    for i, m in enumerate(done[start : start + 10])
                ],
            )
