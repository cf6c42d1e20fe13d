"""The embedded AWS emulator: moto inside this process, with no listening socket.

`moto.mock_aws` answers every boto3 call of the process from its in-memory backends before the
request leaves it, so there is nothing to connect to: no `/moto-api/data.json` dump of all state,
no GetSecretValue for whoever reaches a port (issue 9, item 11). The only door into `ferry dev`
is its gateway, behind the API token. It is also the faster path: no HTTP hop per AWS call.

Step Functions executions really run (the workflows feature builds on them).
"""

from __future__ import annotations

import functools
import os
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

from ferry.dev.emulator_deletes import delete_in_one_pass
from ferry.dev.emulator_item_size import size_items_once
from ferry.dev.emulator_query import count_call, query_only_the_partition
from ferry.dev.emulator_routing import route_each_endpoint_once
from ferry.dev.emulator_serializer import write_attribute_values_directly
from ferry.dev.emulator_stop import keep_stops_over_later_errors

DEV_REGION = "us-east-1"
DEV_ACCESS_KEY = "ferry-dev"
DEV_SECRET_KEY = "ferry-dev"
MOTO_CONFIG = {"stepfunctions": {"execute_state_machine": True}}


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def _redirecting_variables() -> list[str]:
    """Variables that would send boto3 past the in-process emulator (to another endpoint or a
    real account): a user's shell may hold them."""
    return [
        name
        for name in os.environ
        if name.startswith("AWS_ENDPOINT_URL") or name in ("AWS_PROFILE", "AWS_SESSION_TOKEN")
    ]


def speed_up_moto() -> None:
    """Take the emulator's own costs out of every emulated call (found profiling `ferry dev`
    under load, see benchmarks/dev_throughput.py), without changing what moto answers:
    - each backend lookup takes a process-wide lock and scans the list of every backend in use
      with Python-level `__eq__`, even when the account's backend exists: return at once then
      (moto's reset clears the backend and that list together, so the shortcut never skips a
      registration);
    - SQS reads the clock through naive-datetime arithmetic for each message on each send and
      receive: read `time.time()` instead (the same instant, as a float of seconds);
    - SQS computes every queue attribute, the approximate counts among them (each a pass over
      every message in the queue), to read one: for each message it receives (the retention
      period) and on each send (content-based deduplication). Read the one attribute instead:
      sends and receives no longer slow down as the queue grows;
    - every request lists the response class's methods with `inspect.getmembers` to find its
      action: list them once per class;
    - a DynamoDB Query on the table's own key sorts *every item of the table* and then keeps the
      partition's: a pk Query took 0.47 s at 30,000 items (one test session's table), so each
      workflow step (a few run-log Queries) got slower the longer `ferry dev` ran. Read only
      the queried partition (the same items; the query sorts and filters them as before), and
      for an index Query the items of its index partition, kept until the next write
      (`ferry.dev.emulator_query`);
    - which messages are visible is read with one clock reading per receive, not two per
      message in the queue (in flight ones included), and a long poll, woken by every send,
      asks whether any message is visible rather than listing them all;
    - a receive reads the queue's messages only until it has taken what it asks for (moto listed
      every visible one first): with a backlog under load ferry dev's receives cost 0.78 ms of
      moto's work against 0.28 in the raw replay of the same calls (docs/benchmarks.md);
    - a long-polling receive sleeps until a *new* message arrives or a second passes, and misses
      one that becomes visible meanwhile (a visibility timeout or delay ending, a retry's
      ChangeMessageVisibility): wake it at that instant as well, as SQS does, instead of adding
      up to a second to every retry, delay and hold.
    - each item is sized once, not once per attribute (`ferry.dev.emulator_item_size`);
    - an action's and a queue attribute's name are turned into a method's name once each, not
      on every call (every SendMessage converted its queue's 14 to 18 attribute names);
    - each attribute value of a response is written as stored, not walked as a ten-member
      structure (`ferry.dev.emulator_serializer`);
    - an SQS delete walks the queue once for all its receipt handles, not twice for each
      (`ferry.dev.emulator_deletes`): with messages in flight it was most of a batch delete;
    - each call's service is found once per endpoint, not by trying every service's URL
      pattern on each call, and request ids and receipt handles are drawn in one call
      (`ferry.dev.emulator_routing`).
    And two races: moto's SQS delete rebuilds the queue's message list without the lock its sends
    append under, so a message sent during a delete (an API publish beside a dispatcher's batch
    delete) could vanish: accepted, never delivered. Deletes take that lock too. And a receive
    reads the queue's set of in-flight messages while another receive or a delete changes it
    ("Set changed size during iteration": the receive fails, and messages it had already marked
    received come back only after their visibility timeout). Receives take the lock as well.
    Idempotent; applied when the emulator starts."""
    import moto.core.responses as moto_responses
    import moto.sqs.models as sqs_models
    from moto.core.base_backend import BackendDict

    if getattr(BackendDict, "_ferry_fast_lookup", False):
        return
    create = BackendDict._create_account_specific_backend

    def create_unless_present(self: Any, account_id: str) -> None:
        if not dict.__contains__(self, account_id):
            create(self, account_id)

    BackendDict._create_account_specific_backend = create_unless_present
    BackendDict._ferry_fast_lookup = True

    slow_unix_time = sqs_models.unix_time

    def unix_time(dt: Any = None) -> float:
        return time.time() if dt is None else slow_unix_time(dt)

    def unix_time_millis(dt: Any = None) -> float:
        return unix_time(dt) * 1000.0

    sqs_models.unix_time = unix_time
    sqs_models.unix_time_millis = unix_time_millis

    _skip_approximate_counts(sqs_models)

    delete_in_one_pass()  # under the lock the sends append under
    receive = sqs_models.SQSBackend.receive_message

    @functools.wraps(receive)
    def receive_under_lock(self: Any, queue_name: str, *args: Any, **kwargs: Any) -> Any:
        # The lock is a Condition's RLock: a long poll's wait inside releases it.
        with self.get_queue(queue_name)._messages_lock:
            return receive(self, queue_name, *args, **kwargs)

    sqs_models.SQSBackend.receive_message = receive_under_lock

    def retention_allows(self: Any, queue_name: str, message: Any) -> bool:
        retention_period = int(self.get_queue(queue_name).message_retention_period)
        return retention_period + message.sent_timestamp / 1000 > unix_time()

    sqs_models.SQSBackend.is_message_valid_based_on_retention_period = retention_allows
    moto_responses.method_names_from_class = functools.cache(moto_responses.method_names_from_class)
    # About 20 µs a conversion, and pure: each call converts its action's name, and each send
    # reads its queue's attributes, converting all 14 to 18 of their names again (0.3 ms of every
    # SendMessage). The names are few; bounded all the same.
    names = functools.lru_cache(maxsize=4096)(sqs_models.camelcase_to_underscores)
    sqs_models.camelcase_to_underscores = names
    moto_responses.camelcase_to_underscores = names

    sqs_models.Queue.messages = property(VisibleMessages)

    def any_visible(queue: Any) -> bool:
        return bool(VisibleMessages(queue))

    def wait_for_messages(queue: Any, timeout: float) -> None:
        with queue._messages_lock:
            now_ms = time.time() * 1000
            upcoming = [
                ready for m in queue._messages if (ready := max(m.visible_at, m.delayed_until)) > now_ms
            ]
            if upcoming:
                timeout = min(timeout, (min(upcoming) - now_ms) / 1000 + 0.001)
            # Woken by every send: asks whether one message is visible, not for the list of all.
            queue._messages_lock.wait_for(lambda: any_visible(queue), timeout=timeout)

    sqs_models.Queue.wait_for_messages = wait_for_messages
    query_only_the_partition()
    size_items_once()
    write_attribute_values_directly()
    route_each_endpoint_once()


_sending = threading.local()


class VisibleMessages:
    """A queue's visible messages (`Queue.messages`), read lazily: moto's receive walks them only
    until it has taken its count; `len` counts them all (the approximate number of messages).
    Receives, sends and deletes hold the queue's lock (`speed_up_moto`), so the list does not
    change during a walk."""

    def __init__(self, queue: Any) -> None:
        self._queue = queue

    def __iter__(self) -> Iterator[Any]:
        # One clock reading per walk (moto's `visible` and `delayed` read it twice per message).
        now_ms = time.time() * 1000
        return (m for m in self._queue._messages if m.visible_at < now_ms and m.delayed_until <= now_ms)

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def __bool__(self) -> bool:
        return next(iter(self), None) is not None


def _skip_approximate_counts(sqs_models: Any) -> None:
    """While a thread sends, the queue's approximate counts read as 0: a send reads only its
    queue's deduplication setting from the attributes (no count reaches its answer), and each
    count is a pass over every message of the queue."""
    queue = sqs_models.Queue
    for name in (
        "approximate_number_of_messages",
        "approximate_number_of_messages_delayed",
        "approximate_number_of_messages_not_visible",
    ):
        count = getattr(queue, name).fget

        def skipped_while_sending(self: Any, count: Any = count) -> int:
            return 0 if getattr(_sending, "active", False) else count(self)

        setattr(queue, name, property(skipped_while_sending))

    backend = sqs_models.SQSBackend
    for name in ("send_message", "send_message_batch"):
        send = getattr(backend, name)

        @functools.wraps(send)
        def sending(self: Any, *args: Any, send: Any = send, **kwargs: Any) -> Any:
            outer = getattr(_sending, "active", False)
            _sending.active = True
            try:
                return send(self, *args, **kwargs)
            finally:
                _sending.active = outer

        setattr(backend, name, sending)


def serialize_dynamodb() -> None:
    """One DynamoDB call at a time in the emulator. moto's tables are plain dicts: a Query
    iterates a table's items while a PutItem from another thread adds a partition, and fails with
    "dictionary changed size during iteration" (seen as a workflow step that failed unexpectedly
    while ten runs wrote their logs at once). DynamoDB itself is atomic per item; its calls never
    wait (unlike SQS long polls), so one lock costs only the calls' own time. Idempotent."""
    import threading

    from moto.dynamodb.responses import DynamoHandler

    if getattr(DynamoHandler, "_ferry_serialized", False):
        return
    lock = threading.RLock()
    call_action = DynamoHandler.call_action

    def serialized_call_action(self: Any) -> Any:
        with lock:
            count_call(self._get_action())
            return call_action(self)

    DynamoHandler.call_action = serialized_call_action
    DynamoHandler._ferry_serialized = True


def _unsigned_while_emulating(**_: Any) -> Any:
    """botocore's choice of signer: none while an emulator runs (else botocore's own choice)."""
    import botocore

    return botocore.UNSIGNED if Emulator._running is not None else None


def sign_no_emulated_call() -> None:
    """Calls answered in this process are not signed: moto checks no signature, and SigV4 (a
    canonical request, a SHA-256 of the body, four HMACs) was about a sixth of each call's CPU
    here (PutItem and SendMessage, 500 of each: 4.0-4.9 ms signed, 3.2-3.8 unsigned). moto reads
    the account from the access key in the Authorization header; ferry dev's key is no known
    account's, so either way every call lands in moto's default account. S3 stays signed (its
    endpoint rules name a signer, which botocore's own handler answers first), presigned URLs
    too. Sessions made after the emulator first starts take it (as moto's own `before-send`
    hook; moto drops boto3's default session when it starts); idempotent."""
    from botocore.handlers import BUILTIN_HANDLERS

    if ("choose-signer", _unsigned_while_emulating) not in BUILTIN_HANDLERS:
        BUILTIN_HANDLERS.append(("choose-signer", _unsigned_while_emulating))


class EmulatorAlreadyRunning(RuntimeError):
    """moto's backends are process-wide: a second emulator would reset the first one's state."""


class Emulator:
    # The one started in this process, if any (tests in parallel workers each have their own).
    _running: Emulator | None = None

    def __init__(self) -> None:
        self._mock: Any = None

    def start(self) -> None:
        from moto import mock_aws

        if Emulator._running is not None:
            raise EmulatorAlreadyRunning(
                "an emulator already runs in this process (moto's state is process-wide): stop it first"
            )
        speed_up_moto()
        serialize_dynamodb()
        sign_no_emulated_call()
        keep_stops_over_later_errors()

        for name in _redirecting_variables():
            del os.environ[name]
        self._mock = mock_aws(config=MOTO_CONFIG)
        # reset: an empty account even when an earlier emulator ran in this process (tests).
        self._mock.start(reset=True)
        Emulator._running = self

    def stop(self) -> None:
        if self._mock is not None:
            self._mock.stop()
            self._mock = None
        if Emulator._running is self:
            Emulator._running = None

    def environ(self) -> dict[str, str]:
        """Variables for boto3 (and so every adapter): fixed dev credentials and region."""
        return {
            "AWS_ACCESS_KEY_ID": DEV_ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": DEV_SECRET_KEY,
            "AWS_DEFAULT_REGION": DEV_REGION,
            "AWS_REGION": DEV_REGION,
        }
