"""Group commit of DynamoDB puts: writes made at the same time by many threads go out together.

The dispatcher delivers a batch's records on many threads, and each delivery ends with a write of
its history items. Sent one BatchWriteItem per delivery, the client's fixed cost per request
(serializing, SigV4, HTTP, parsing: about 2.5 ms of CPU here, stretched ~7x at 256 MB's CPU
share) is most of the dispatcher's CPU per message. Here the first writer to find no write in
flight sends its items at once; whoever arrives while that request is out waits, and the next
request carries everything that gathered (up to 25 items, BatchWriteItem's limit). Nobody waits
for a timer, so a lone writer (the API, one request at a time) is as fast as before.

Each caller still returns only once its own items are written, or raises its own error, so a
write is as durable at return as it was: nothing is buffered past the call. A request that fails
as a whole is sent again per caller, so one caller's bad item never fails the others.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

BATCH_SIZE = 25

# One BatchWriteItem of put requests, retrying unprocessed items; raises when it cannot finish.
SendBatch = Callable[[list[dict[str, Any]]], None]


@dataclass(eq=False)
class _Write:
    """One caller's items: done when every one of them is written or the write failed. The caller
    sleeps on `wake` (a condition of the group's lock) until it is done or `turn` (its turn to send)."""

    remaining: int
    wake: threading.Condition = field(repr=False)
    error: BaseException | None = None
    turn: bool = False

    @property
    def done(self) -> bool:
        return self.remaining == 0 or self.error is not None


@dataclass(eq=False)
class _Put:
    request: dict[str, Any]
    key: tuple[str, str]
    write: _Write = field(repr=False)
    finished: bool = False


class GroupCommit:
    """Callers wait each on a condition of its own: when a request comes back, its callers are
    woken, and the owner of the oldest item still queued is told to send the next one. (One
    condition for all, woken with notify_all, woke every waiting delivery per request to find
    most of them still queued: about 1.5 ms of CPU per message under load in `ferry dev`.)"""

    def __init__(self, send: SendBatch) -> None:
        self._send = send
        self._lock = threading.Lock()
        self._queue: list[_Put] = []
        self._sending = False

    @property
    def queued(self) -> int:
        """Put requests waiting for the next BatchWriteItem (what the next sender will take)."""
        with self._lock:
            return len(self._queue)

    def write(self, requests: list[dict[str, Any]]) -> None:
        """Every put request written (in one or more BatchWriteItem calls, shared with other
        callers) before this returns; raises the error of a request that could not be written."""
        if not requests:
            return
        mine = _Write(remaining=len(requests), wake=threading.Condition(self._lock))
        with self._lock:
            self._queue.extend(_Put(r, _key_of(r), mine) for r in requests)
            while True:
                if mine.done:
                    break
                if self._sending and not mine.turn:
                    mine.wake.wait()
                    continue
                mine.turn = False
                batch = self._take()
                self._sending = True
                self._lock.release()
                try:
                    self._send_group(batch)
                finally:
                    self._lock.acquire()
                    # Interrupted mid-request (only a BaseException gets here unfinished): the
                    # other callers of this batch must not wait for it forever.
                    for put in batch:
                        if not put.finished:
                            put.finished = True
                            put.write.error = put.write.error or RuntimeError("history write interrupted")
                    self._sending = False
                    self._wake_after(batch, mine)
        if mine.error is not None:
            raise mine.error

    def _wake_after(self, batch: list[_Put], sender: _Write) -> None:
        """Under the lock, after a request: wake its finished callers, and hand the next request
        to the owner of the oldest queued item (the sender itself keeps it if that is its own)."""
        for write in dict.fromkeys(p.write for p in batch):
            if write is not sender and write.done:
                write.wake.notify()
        if self._queue:
            following = self._queue[0].write
            if following is not sender:
                self._sending = True  # held for `following` until it wakes and sends
                following.turn = True
                following.wake.notify()

    def _take(self) -> list[_Put]:
        """Up to BATCH_SIZE queued puts, oldest first, no two with the same key (BatchWriteItem
        refuses a request that names one item twice: the later put waits for the next request)."""
        batch: list[_Put] = []
        keys: set[tuple[str, str]] = set()
        for put in self._queue:
            if len(batch) == BATCH_SIZE:
                break
            if put.key in keys:
                continue
            batch.append(put)
            keys.add(put.key)
        taken = set(map(id, batch))
        self._queue = [p for p in self._queue if id(p) not in taken]
        return batch

    def _send_group(self, batch: list[_Put]) -> None:
        writes = list(dict.fromkeys(p.write for p in batch))
        try:
            self._send([p.request for p in batch])
        except Exception as error:
            if len(writes) == 1:
                self._finish(batch, error)
                return
            # Whose item failed the request is not known: each caller's items go again alone.
            for write in writes:
                own = [p for p in batch if p.write is write]
                try:
                    self._send([p.request for p in own])
                except Exception as own_error:
                    self._finish(own, own_error)
                else:
                    self._finish(own, None)
            return
        self._finish(batch, None)

    def _finish(self, puts: list[_Put], error: BaseException | None) -> None:
        with self._lock:
            for put in puts:
                put.finished = True
                if error is not None:
                    put.write.error = put.write.error or error
                else:
                    put.write.remaining -= 1
            if error is not None:
                # The failed caller's other queued items are not sent: it has raised already.
                failed = {id(p.write) for p in puts}
                self._queue = [p for p in self._queue if id(p.write) not in failed]


def _key_of(request: dict[str, Any]) -> tuple[str, str]:
    item = request["PutRequest"]["Item"]
    return (str(item.get("pk")), str(item.get("sk")))
