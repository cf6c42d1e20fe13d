"""The Lambda entry points. `functions/*/handler.py` re-export these; `ferry dev` and the tests
call these same objects, so every environment runs one code path.

Cold start: importing this module is what a Lambda's init phase pays, so it loads only the
powertools Logger and Metrics. Ferry's own code (routes, use cases, adapters, boto3 clients) is
imported and built on the first invocation. The X-Ray SDK (about 250 ms to import) is loaded
only when AWS-call tracing is switched on (`FERRY_TRACE_AWS_CALLS=true`); without it, Lambda's
active tracing still records every invocation as a segment.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.logging import Logger
from aws_lambda_powertools.metrics import Metrics
from aws_lambda_powertools.metrics.functions import is_metrics_disabled

from ferry.config import Env

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]

logger = Logger(service="ferry")
metrics = Metrics(namespace="Ferry", service="ferry")


def trace_aws_calls_enabled(environ: os._Environ[str] | dict[str, str] = os.environ) -> bool:
    return environ.get(Env.TRACE_AWS_CALLS, "").strip().lower() in {"1", "true", "yes"}


def _traced(handler: Handler) -> Handler:
    """The handler inside a powertools Tracer segment when AWS-call tracing is on; else as is."""
    if not trace_aws_calls_enabled():
        return handler
    from aws_lambda_powertools import Tracer

    # Only AWS calls are traced: patching httplib (the deliveries) too would add X-Amzn-Trace-Id to every
    # delivery and record users' destinations in X-Ray.
    tracer = Tracer(service="ferry", patch_modules=["botocore"])
    return tracer.capture_lambda_handler(capture_response=False)(handler)


@logger.inject_lambda_context(clear_state=True)
@_traced
def api_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    from ferry.api.app import handle

    return handle(event, context)


@logger.inject_lambda_context(clear_state=True)
@_traced
@metrics.log_metrics
def dispatcher_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    from ferry.sqs_batch import handle

    # Disabled (ferry dev, tests), powertools keeps the metrics it does not flush and prints them
    # to stdout anyway once a metric holds 100 values (powertools 3.37): add none then.
    return handle(event, context, metrics=None if is_metrics_disabled() else metrics)
