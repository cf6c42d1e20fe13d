"""InMemoryRunDriver: the run driver state machine (ferry/domain/workflow_driver.py) as a small
model of executions, for fast tests of the workflow use cases.

Like the real machine, an execution acts on its `next` action: `deliver` (after `delaySeconds` or
at `notBefore`) and `wait` put a task message with a fresh task token on the queue, as the
`sqs:sendMessage.waitForTaskToken` states do; `finish` succeeds it; `canceled` and anything else
fail it. `parallel` puts one branch task per plan step on the queue at once (the Map) and, when
every branch answered, the Join task. A failed step (SendTaskFailure) fails the execution at its
Deliver state (or its Map, which drops the other branches' tokens), which is where a redrive
restarts it with new tokens (a Map: the branches that had not answered). Stopped or ended
executions answer no token.
Not modelled: the WaitForEvent timeout (States.Timeout), which needs time to pass on its own;
a Wait state is the task message's SQS delay, so a sleep past 900 s is cut to 900 s."""

from __future__ import annotations

import calendar
import itertools
import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from ferry.adapters.memory.queue import InMemoryQueue
from ferry.domain.workflow_driver import CANCELED_ERROR
from ferry.usecases.ports import Clock

ARN_PREFIX = "arn:aws:states:us-east-1:123456789012:execution:ferry-run-driver:"


@dataclass
class _Execution:
    arn: str
    run_input: dict[str, Any]
    status: str = "RUNNING"
    token: str | None = None
    # The `next` the Deliver or WaitForEvent task was sent for (what a redrive sends again).
    task_next: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    # In the Map: the tokens of the branches in flight, by plan step id.
    branches: dict[str, str] = field(default_factory=dict)


class InMemoryRunDriver:
    def __init__(self, queue: InMemoryQueue, clock: Clock, *, can_redrive: bool = True) -> None:
        """`can_redrive=False` is a service without RedriveExecution (moto 5.x): every redrive is
        refused, so a use case test reaches the continue-in-a-new-execution branch too."""
        self._can_redrive = can_redrive
        self._queue = queue
        self._clock = clock
        self._executions: dict[str, _Execution] = {}
        self._by_token: dict[str, _Execution] = {}
        self._tokens = itertools.count(1)
        self._lock = threading.Lock()

    def start(self, name: str, run_input: dict[str, Any]) -> str:
        with self._lock:
            if name in self._executions:
                return self._executions[name].arn
            execution = _Execution(ARN_PREFIX + name, json.loads(json.dumps(run_input)))
            self._executions[name] = execution
            self._act(execution, execution.run_input["next"])
            return execution.arn

    def stop(self, execution: str, *, cause: str) -> None:
        with self._lock:
            found = self._find(execution)
            if found is not None and found.status == "RUNNING":
                found.status = "ABORTED"
                self._drop_token(found)

    def succeed(self, task_token: str, output: dict[str, Any]) -> bool:
        with self._lock:
            execution = self._by_token.get(task_token)
            if execution is None:
                return False
            if task_token in execution.branches.values():
                self._by_token.pop(task_token)
                execution.branches = {k: v for k, v in execution.branches.items() if v != task_token}
                if not execution.branches:  # the Map is done: Join
                    self._send_task(execution, execution.task_next, delay_seconds=0, flag="join")
                return True
            self._drop_token(execution)
            self._act(execution, json.loads(json.dumps(output)))
            return True

    def fail(self, task_token: str, *, error: str, cause: str) -> bool:
        with self._lock:
            execution = self._by_token.get(task_token)
            if execution is None:
                return False
            self._drop_token(execution)
            execution.status, execution.error = "FAILED", error
            return True

    def redrive(self, execution: str) -> bool:
        with self._lock:
            found = self._find(execution)
            if not self._can_redrive or found is None or found.status != "FAILED" or not found.task_next:
                return False
            found.status, found.error = "RUNNING", None
            if found.task_next.get("action") == "parallel" and found.branches:
                self._send_branches(found, found.task_next, only=list(found.branches))
            elif found.task_next.get("action") == "parallel":
                self._send_task(found, found.task_next, delay_seconds=0, flag="join")
            else:
                self._send_task(found, found.task_next, delay_seconds=0)
            return True

    def status(self, execution: str) -> str:
        with self._lock:
            found = self._find(execution)
            return "UNKNOWN" if found is None else found.status

    # --- the state machine ----------------------------------------------------------------

    def _act(self, execution: _Execution, next_: dict[str, Any]) -> None:
        action = next_.get("action")
        if action == "deliver":
            self._send_task(execution, next_, delay_seconds=self._delay(next_))
        elif action == "wait":
            self._send_task(execution, next_, delay_seconds=0, flag="waiting")
        elif action == "parallel":
            self._send_branches(execution, next_, only=list(next_["messageIds"]))
        elif action == "finish":
            execution.status = "SUCCEEDED"
        else:  # Canceled, or Stalled: a Fail state
            execution.status = "FAILED"
            execution.error = CANCELED_ERROR if action == "canceled" else "Ferry.Stalled"

    def _delay(self, next_: dict[str, Any]) -> int:
        if "delaySeconds" in next_:
            return int(next_["delaySeconds"])
        if "notBefore" in next_:
            at = calendar.timegm(time.strptime(next_["notBefore"], "%Y-%m-%dT%H:%M:%SZ"))
            return max(0, at - int(self._clock.now()))
        return 0

    def _send_branches(self, execution: _Execution, next_: dict[str, Any], *, only: list[str]) -> None:
        """The Map: every branch's task at once; a redrive sends those that had not answered."""
        execution.task_next, execution.branches = next_, {}
        for message_id in only:
            token = f"token-{next(self._tokens)}"
            execution.branches[message_id] = token
            self._by_token[token] = execution
            self._put(execution, message_id, token, flag="branch", delay_seconds=0)

    def _send_task(
        self, execution: _Execution, next_: dict[str, Any], *, delay_seconds: int, flag: str | None = None
    ) -> None:
        token = f"token-{next(self._tokens)}"
        execution.token, execution.task_next = token, next_
        self._by_token[token] = execution
        message_id = next_["messageIds"][0] if flag == "join" else next_["messageId"]
        self._put(execution, message_id, token, flag=flag, delay_seconds=delay_seconds)

    def _put(
        self, execution: _Execution, message_id: str, token: str, *, flag: str | None, delay_seconds: int
    ) -> None:
        run_id = execution.run_input["runId"]
        workflow: dict[str, Any] = {"run_id": run_id, "step": message_id, "task_token": token}
        if flag:
            workflow[flag] = True
        body = {
            "v": 1, "id": message_id, "destination": "", "created_at": 0, "not_before": 0,
            "max_retries": 0, "timeout": 1, "workflow": workflow,
        }  # fmt: skip
        # The Sleep/SleepUntil Wait state, as the delay of the task's message.
        self._queue.send_raw(json.dumps(body), delay_seconds=delay_seconds)

    def _drop_token(self, execution: _Execution) -> None:
        if execution.token is not None:
            self._by_token.pop(execution.token, None)
            execution.token = None
        for token in execution.branches.values():  # a failed or stopped Map ends every iteration
            self._by_token.pop(token, None)

    def _find(self, execution: str) -> _Execution | None:
        return self._executions.get(execution.removeprefix(ARN_PREFIX))
