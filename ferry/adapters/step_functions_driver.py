"""StepFunctionsDriver: the run driver state machine through the Step Functions API."""

from __future__ import annotations

import contextlib
import json
from typing import Any

# What SendTask* answers when the task no longer waits: its execution was stopped (cancel), timed
# out, or the token was already answered (a redelivered step after a crash).
_GONE = ("TaskTimedOut", "TaskDoesNotExist", "InvalidToken")


class StepFunctionsDriver:
    def __init__(self, client: Any, *, state_machine_arn: str) -> None:
        self._sfn = client
        self._arn = state_machine_arn

    def start(self, name: str, run_input: dict[str, Any]) -> str:
        try:
            return self._sfn.start_execution(
                stateMachineArn=self._arn, name=name, input=json.dumps(run_input)
            )["executionArn"]
        except self._sfn.exceptions.ExecutionAlreadyExists:
            # Same name, different input (e.g. a repeated Init): the run already has its execution.
            return self.execution_arn(name)

    def execution_arn(self, name: str) -> str:
        # arn:aws:states:<region>:<account>:stateMachine:<machine> -> ...:execution:<machine>:<name>
        prefix, _, machine = self._arn.rpartition(":stateMachine:")
        return f"{prefix}:execution:{machine}:{name}"

    def stop(self, execution: str, *, cause: str) -> None:
        with contextlib.suppress(self._sfn.exceptions.ExecutionDoesNotExist):
            self._sfn.stop_execution(executionArn=execution, error="Ferry.Canceled", cause=cause)

    def succeed(self, task_token: str, output: dict[str, Any]) -> bool:
        return self._answer(
            lambda: self._sfn.send_task_success(taskToken=task_token, output=json.dumps(output))
        )

    def fail(self, task_token: str, *, error: str, cause: str) -> bool:
        return self._answer(
            lambda: self._sfn.send_task_failure(taskToken=task_token, error=error, cause=cause[:32_000])
        )

    def _answer(self, call: Any) -> bool:
        try:
            call()
        except self._sfn.exceptions.ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in _GONE:
                return False
            raise
        return True

    def redrive(self, execution: str) -> bool:
        """RedriveExecution where the service has it. moto 5.x does not implement it: in process
        it raises NotImplementedError, as a server it answers a bare HTTP 500 without an AWS error
        document (botocore then reports the status itself as the code, which AWS never sends).
        The caller then continues the run in a new execution instead."""
        try:
            self._sfn.redrive_execution(executionArn=execution)
        except NotImplementedError:
            return False
        except self._sfn.exceptions.ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("500", "NotImplemented"):
                return False
            raise
        return True

    def status(self, execution: str) -> str:
        try:
            return self._sfn.describe_execution(executionArn=execution)["status"]
        except self._sfn.exceptions.ExecutionDoesNotExist:
            return "UNKNOWN"
