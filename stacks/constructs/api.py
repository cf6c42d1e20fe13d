"""The QStash-compatible HTTP API: API Gateway HTTP API -> the API Lambda, which serves all of `/v2`
(publish, messages, DLQ, logs, schedules, keys) and authenticates every request itself."""

from __future__ import annotations

import jsii
from aws_cdk import Acknowledgment, Validations
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_logs as logs
from aws_cdk.aws_apigatewayv2_integrations import HttpLambdaIntegration
from constructs import Construct

from ferry.config import FerryConfig
from stacks.constructs.layer import LOG_RETENTION, REPO_ROOT, FerryLayer
from stacks.constructs.schedules import Schedules
from stacks.constructs.secrets import Secrets
from stacks.constructs.storage import Storage

# One JSON line per request in the access log (API Gateway $context variables).
ACCESS_LOG_FORMAT = apigw.AccessLogFormat.custom(
    '{"requestId":"$context.requestId","ip":"$context.identity.sourceIp",'
    '"requestTime":"$context.requestTime","httpMethod":"$context.httpMethod",'
    '"routeKey":"$context.routeKey","path":"$context.path","status":"$context.status",'
    '"protocol":"$context.protocol","responseLength":"$context.responseLength",'
    '"latency":"$context.responseLatency","integrationLatency":"$context.integrationLatency",'
    '"integrationError":"$context.integrationErrorMessage","userAgent":"$context.identity.userAgent"}'
)


@jsii.implements(apigwv2.IAccessLogSettings)
class _AccessLogSettings:
    """Access logs of the stage: one JSON line per request into `log_group`."""

    def __init__(self, log_group: logs.ILogGroup) -> None:
        self._destination = apigwv2.LogGroupLogDestination(log_group)

    @property
    def destination(self) -> apigwv2.IAccessLogDestination:
        return self._destination

    @property
    def format(self) -> apigw.AccessLogFormat:
        return ACCESS_LOG_FORMAT


class Api(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: FerryConfig,
        layer: FerryLayer,
        storage: Storage,
        secrets: Secrets,
        schedules: Schedules,
        environment: dict[str, str],
    ) -> None:
        super().__init__(scope, construct_id)
        self.function = layer.function(
            self,
            "Function",
            code_dir=REPO_ROOT / "functions" / "api",
            description="Ferry API: the QStash-compatible /v2 HTTP API",
            memory_mb=config.publish_memory_mb,
            timeout_seconds=config.publish_timeout_seconds,
            environment=environment,
        )

        self.http_api = apigwv2.HttpApi(
            self,
            "HttpApi",
            api_name=f"{config.names.prefix}-api",
            description="Ferry: QStash-compatible API (Authorization: Bearer <token from Secrets Manager>)",
            create_default_stage=False,
        )
        route_auth = Acknowledgment(
            id="AwsSolutions-APIG4",
            reason=(
                "Authorization is done by the API function on every request: the bearer token "
                "(Authorization header, or QStash's qstash_token query parameter) is compared in "
                "constant time with the token in Secrets Manager, exactly as QStash clients send "
                "it. An API Gateway authorizer would add a second Lambda per request for the same "
                "check and could not return QStash's error shapes."
            ),
        )
        integration = HttpLambdaIntegration(
            "Integration",
            self.function,
            payload_format_version=apigwv2.PayloadFormatVersion.VERSION_2_0,
        )
        for route in self.http_api.add_routes(
            path="/v2/{proxy+}", methods=[apigwv2.HttpMethod.ANY], integration=integration
        ):
            Validations.of(route).acknowledge(route_auth)
        # The web dashboard (ferry/api/dashboard.py): the same function serves its page and files.
        dashboard_auth = Acknowledgment(
            id="AwsSolutions-APIG4",
            reason=(
                "The dashboard's HTML, JavaScript and CSS hold no data and are public; the page "
                "sends every data call to /v2 with the bearer token, and its one-time-code sign-in "
                "is checked by the API function."
            ),
        )
        for path, method in (
            ("/dashboard", apigwv2.HttpMethod.GET),
            ("/dashboard/{proxy+}", apigwv2.HttpMethod.ANY),
        ):
            for route in self.http_api.add_routes(path=path, methods=[method], integration=integration):
                Validations.of(route).acknowledge(dashboard_auth)

        self.access_logs = logs.LogGroup(self, "AccessLogs", retention=LOG_RETENTION)
        self.stage = apigwv2.HttpStage(
            self,
            "DefaultStage",
            http_api=self.http_api,
            stage_name="$default",
            auto_deploy=True,
            throttle=apigwv2.ThrottleSettings(
                rate_limit=config.api_throttle_rate_limit, burst_limit=config.api_throttle_burst_limit
            ),
            access_log_settings=_AccessLogSettings(self.access_logs),
        )

        for queue in storage.queues:
            queue.grant_send_messages(self.function)
        # Resuming a queue shows its paused heads again at once (docs/flow-control.md).
        storage.fifo_queue.grant(self.function, "sqs:ChangeMessageVisibility")
        storage.grant_table_read_write(self.function)
        for secret in secrets.all:
            secret.grant_read(self.function)
        secrets.grant_rotate_signing_keys(self.function)
        schedules.grant_manage_schedules(self.function)

    @property
    def url(self) -> str:
        """The API's base URL, `https://<id>.execute-api.<region>.amazonaws.com` (the `$default`
        stage serves at the root). No trailing slash: clients append `/v2/...` to it."""
        return self.http_api.api_endpoint
