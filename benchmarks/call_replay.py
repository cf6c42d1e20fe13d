"""Recording ferry dev's AWS calls and replaying them straight on boto3 clients against the same
emulator: the raw side of benchmarks/dev_throughput.py and benchmarks/dev_handler_overhead.py.
"""

from __future__ import annotations

import copy
import threading
from collections import Counter
from collections.abc import Callable
from typing import Any

# Not a message's work: the dev ticker's polling of Scheduler (in AWS: the Scheduler service).
_NOT_MESSAGE_THREADS = ("scheduler-ticker",)


class CallRecorder:
    """Records (thread, service, operation, parameters) of ferry dev's AWS calls while
    `recording`, and counts operations (not the ticker's) while `counting`.

    `deep=False` keeps a shallow copy of each call's parameters: enough to replay them (a call
    does not change what its caller passed) and cheap enough to record inside a timed region."""

    def __init__(self, clients: list[Any], deep: bool = True) -> None:
        self.calls: list[tuple[str, str, str, dict[str, Any]]] = []
        self._copy: Callable[[dict[str, Any]], dict[str, Any]] = copy.deepcopy if deep else dict
        self.counts: Counter[str] = Counter()
        # Items written by the counted BatchWriteItem calls (ferry dev groups writes of
        # concurrent deliveries: a call under load carries many more than one recorded alone).
        self.batch_items = 0
        self.recording = False
        self.counting = False
        self._lock = threading.Lock()
        for client in clients:
            client.meta.events.register("provide-client-params.*.*", self._record)

    def _record(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        if not (self.recording or self.counting):
            return
        thread = threading.current_thread().name
        if thread.startswith(_NOT_MESSAGE_THREADS):
            return
        with self._lock:
            if self.counting:
                self.counts[model.name] += 1
                if model.name == "BatchWriteItem":
                    self.batch_items += _batch_items(params)
            if self.recording:
                self.calls.append((thread, model.service_model.service_name, model.name, self._copy(params)))

    def take(self) -> list[tuple[str, str, str, dict[str, Any]]]:
        """The calls recorded so far, forgetting them."""
        with self._lock:
            calls, self.calls = self.calls, []
        return calls


def _batch_items(params: dict[str, Any]) -> int:
    return sum(len(requests) for requests in params["RequestItems"].values())


def _write_requests(examples: list[tuple[str, dict[str, Any]]]) -> list[tuple[str, dict[str, Any]]]:
    """The recorded BatchWriteItem requests as (table, request), one per item key (a call may not
    name a key twice)."""
    pool: dict[tuple[str, str], tuple[str, dict[str, Any]]] = {}
    for _, params in examples:
        for table, requests in params["RequestItems"].items():
            for request in requests:
                item = request.get("PutRequest", {}).get("Item") or request["DeleteRequest"]["Key"]
                pool[(table, repr((item.get("pk"), item.get("sk"))))] = (table, request)
    return list(pool.values())


class MessageReplay:
    """One replay thread's message-equivalents: every per-message call as recorded, as often per
    message as counted under load; receives and deletes take and remove real messages."""

    receiving = threading.Lock()

    def __init__(
        self,
        clients: dict[str, Any],
        examples: dict[str, list[tuple[str, dict[str, Any]]]],
        rates: dict[str, float],
        batch: tuple[float, int] = (0.0, 0),
    ) -> None:
        self._clients = clients
        self._examples = examples
        self._rates = rates
        self._due: Counter[str] = Counter()
        self._turn: Counter[str] = Counter()
        # BatchWriteItem: items per message and per call as ferry dev wrote them under load.
        self._items_per_message, self._items_per_call = batch
        self._items_due = 0.0
        self._requests = _write_requests(examples.get("BatchWriteItem", []))
        # (queue URL, receipt handle) of each message received and not yet deleted.
        self._received: list[tuple[str, str]] = []
        self._owed = 0

    def __call__(self) -> None:
        self._owed += 1  # this message-equivalent's message, to be received once
        for operation, rate in self._rates.items():
            if operation == "BatchWriteItem":
                self._write_items()
                continue
            self._due[operation] += rate
            while self._due[operation] >= 1:
                self._due[operation] -= 1
                self._call(operation)

    def _write_items(self) -> None:
        """As many items per message as ferry dev wrote, in calls as full as its calls were (at
        most as many as the recording holds distinct keys)."""
        per_call = max(1, min(self._items_per_call, len(self._requests)))
        self._items_due += self._items_per_message
        while self._items_due >= per_call:
            self._items_due -= per_call
            start = self._turn["BatchWriteItem"]
            self._turn["BatchWriteItem"] += per_call
            items: dict[str, list[dict[str, Any]]] = {}
            for i in range(start, start + per_call):
                table, request = self._requests[i % len(self._requests)]
                items.setdefault(table, []).append(request)
            self._clients["dynamodb"].batch_write_item(RequestItems=items)

    def _call(self, operation: str) -> None:
        options = self._examples[operation]
        service, params = options[self._turn[operation] % len(options)]
        self._turn[operation] += 1
        client = self._clients[service]
        if operation == "ReceiveMessage":
            # One receiver at a time, as ferry dev has one per queue (moto's receive is not
            # safe across concurrent callers).
            # The messages this replay sent and has not received yet (at most 10, at least 1):
            # ferry dev receives each message once. (Asking round(1 / receives per message)
            # left the idle FIFO queue's receives out of the sum: 0.8 messages received per
            # message.)
            batch = max(1, min(10, self._owed))
            with self.receiving:
                received = (
                    client.receive_message(
                        **{**params, "WaitTimeSeconds": 0, "MaxNumberOfMessages": batch}
                    ).get("Messages")
                    or []
                )
            # Kept until deletes take them: ferry dev deletes every message it receives (a
            # second receive before the next delete used to drop the first one's messages, and
            # the replay deleted 0.39 messages per message to ferry dev's 1.0).
            self._received.extend((params["QueueUrl"], m["ReceiptHandle"]) for m in received)
            self._owed -= len(received)
        elif operation == "DeleteMessageBatch":
            url = params["QueueUrl"]
            mine = [handle for queue, handle in self._received if queue == url][:10]
            if mine:
                taken = set(mine)
                self._received = [(q, h) for q, h in self._received if h not in taken]
                client.delete_message_batch(
                    QueueUrl=url,
                    Entries=[{"Id": str(i), "ReceiptHandle": handle} for i, handle in enumerate(mine)],
                )
        else:
            getattr(client, snake_case(operation))(**params)


def rates_per_message(
    counts: Counter[str], published: int, examples: dict[str, list[tuple[str, dict[str, Any]]]]
) -> dict[str, float]:
    """Each operation's calls per message so far (those a message makes: recorded ones)."""
    return {op: n / published for op, n in sorted(counts.items()) if op in examples}


def batching(recorder: CallRecorder, published: int) -> tuple[float, int]:
    """BatchWriteItem items per message, and per call, counted so far."""
    calls = recorder.counts["BatchWriteItem"]
    if not calls or not published:
        return (0.0, 0)
    return (recorder.batch_items / published, round(recorder.batch_items / calls))


def drain_queues(sqs: Any, queue_urls: set[str]) -> None:
    """Remove what a raw slice sent and did not take, so that no slice inherits a longer queue
    (and the pollers do not deliver replayed messages)."""
    for url in queue_urls:
        while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages"):
            delete_received(sqs, url, messages)


def delete_received(sqs: Any, queue_url: str, messages: list[dict[str, Any]]) -> None:
    """Delete received messages, ten to a call."""
    for start in range(0, len(messages), 10):
        sqs.delete_message_batch(
            QueueUrl=queue_url,
            Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                for i, m in enumerate(messages[start : start + 10])
            ],
        )


def snake_case(operation: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in operation).lstrip("_")
