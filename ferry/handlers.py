"""The Lambda entry points. `functions/*/handler.py` re-export these; `ferry dev` and the tests
call these same objects, so every environment runs one code path."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer

logger = Logger(service="ferry")
# Only AWS calls are traced: patching urllib3/httplib too would add X-Amzn-Trace-Id to every
# delivery and record users' destinations in X-Ray.
tracer = Tracer(service="ferry", patch_modules=["botocore"])
metrics = Metrics(namespace="Ferry", service="ferry")


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
def api_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    from ferry.api.app import handle

    return handle(event, context)


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def dispatcher_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    from ferry.sqs_batch import handle

    return handle(event, context, metrics=metrics)
