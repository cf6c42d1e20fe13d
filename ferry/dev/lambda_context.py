"""The Lambda context object the handlers (and powertools) expect, for `ferry dev`."""

from __future__ import annotations

import secrets
import time


class DevLambdaContext:
    def __init__(self, function_name: str, timeout_seconds: int = 900, memory_mb: int = 256) -> None:
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.invoked_function_arn = f"arn:aws:lambda:us-east-1:123456789012:function:{function_name}"
        self.memory_limit_in_mb = memory_mb
        self.aws_request_id = secrets.token_hex(16)
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = "ferry-dev"
        self._deadline = time.monotonic() + timeout_seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))
