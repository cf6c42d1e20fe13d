"""Settings the Lambda functions read from their environment (set by the stack and by `ferry dev`)."""

from __future__ import annotations

from ferry.config import Env, RuntimeSettings


def test_history_retention_is_read_from_the_environment():
    environ = {
        name: "x" for name in vars(Env).values() if isinstance(name, str) and name.startswith("FERRY_")
    }
    environ[Env.SECRETS_MAX_AGE] = "60"
    environ[Env.HISTORY_RETENTION_DAYS] = "30"
    environ[Env.DISPATCHER_CONCURRENCY] = "50"
    environ[Env.HISTORY_LEVEL] = "full"
    environ[Env.BACKPRESSURE_SECONDS] = "5"
    assert RuntimeSettings.from_env(environ).history_retention_days == 30
