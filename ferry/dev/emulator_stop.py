"""The emulator's Step Functions: a stopped execution ends ABORTED, as on AWS, even when the
stop lands while a state is starting.

moto skips evaluating every part of a state once its execution is stopped, but the state's own
code goes on regardless: a Task that had just started pops its timeout off the evaluation stack,
gets the state's input instead (the part that reads `TimeoutSecondsPath` was skipped), and
fails with "'>' not supported between instances of 'dict' and 'int'". moto's `set_error` then
overwrites the stop, so a run cancelled just as it entered WaitForEvent ended FAILED instead of
ABORTED (seen twice in full test runs, never alone).

Here an error after the stop leaves the stop in place: what a stopped execution does next can no
longer fail it. The failing state's events are still recorded in its history.
"""

from __future__ import annotations

from typing import Any


def keep_stops_over_later_errors() -> None:
    """Idempotent; applied when the emulator starts (`ferry.dev.emulator.Emulator.start`)."""
    from moto.stepfunctions.parser.asl.eval.environment import Environment
    from moto.stepfunctions.parser.asl.eval.program_state import ProgramError, ProgramStopped

    if getattr(Environment, "_ferry_stops_kept", False):
        return

    def set_error(self: Any, error: Any) -> None:
        # moto's own body, under the same lock, with the one check added.
        with self._state_mutex:
            if isinstance(self._program_state, ProgramStopped):
                return
            self._program_state = ProgramError(error=error)
            for frame in self._frames:
                frame.set_error(error=error)
            self.program_state_event.set()
            self.program_state_event.clear()

    Environment.set_error = set_error
    Environment._ferry_stops_kept = True
