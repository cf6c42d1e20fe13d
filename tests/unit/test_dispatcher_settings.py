"""Dispatcher settings: how many deliveries one invocation runs at once."""

from __future__ import annotations

from ferry.config import DispatcherSettings, Env, RuntimeSettings

REQUIRED = dict.fromkeys(
    (
        Env.QUEUE_URL,
        Env.QUEUE_DLQ_URL,
        Env.FIFO_QUEUE_URL,
        Env.FIFO_QUEUE_DLQ_URL,
        Env.TABLE_NAME,
        Env.API_TOKEN_SECRET,
        Env.SIGNING_KEY_CURRENT_SECRET,
        Env.SIGNING_KEY_NEXT_SECRET,
    ),
    "x",
)


def test_by_default_a_whole_batch_is_delivered_at_once():
    assert DispatcherSettings(batch_size=50).concurrency == 50
    assert DispatcherSettings(batch_size=1, fifo_batch_size=1).concurrency == 1


def test_a_configured_in_invocation_concurrency_wins_over_the_batch_size():
    assert DispatcherSettings(batch_size=50, delivery_concurrency=10).concurrency == 10


def test_batches_above_ten_come_with_the_batching_window_lambda_requires():
    settings = DispatcherSettings()
    assert settings.batch_size <= 10 or settings.max_batching_window_seconds >= 1


def test_the_handlers_read_the_concurrency_from_the_environment():
    assert RuntimeSettings.from_env({**REQUIRED, Env.DISPATCHER_CONCURRENCY: "7"}).dispatcher_concurrency == 7
    assert RuntimeSettings.from_env(REQUIRED).dispatcher_concurrency == DispatcherSettings().concurrency
