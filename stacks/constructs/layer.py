"""The Lambda layer (the `ferry` package and its dependencies) and how every Ferry function runs.

The layer is built by `layers/ferry/build_layer.py` with pip on the synthesizing machine (local
bundling, no Docker). `FerryLayer.function()` creates a function with the settings all Ferry
functions share: Python 3.12 on arm64, the layer, active tracing, powertools settings and a log
group with a retention.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType
from typing import Any

import jsii
from aws_cdk import Acknowledgment, AssetHashType, BundlingOptions, Duration, ILocalBundling, Validations
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

REPO_ROOT = Path(__file__).resolve().parents[2]
LAYER_RECIPE = REPO_ROOT / "layers" / "ferry"

RUNTIME = lambda_.Runtime.PYTHON_3_12
ARCHITECTURE = lambda_.Architecture.ARM_64
LOG_RETENTION = logs.RetentionDays.ONE_MONTH

# cdk-nag findings every Ferry function has, and why each is fine.
FUNCTION_ACKNOWLEDGMENTS = (
    Acknowledgment(
        id=(
            "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
            "AWSLambdaBasicExecutionRole]"
        ),
        reason=(
            "AWSLambdaBasicExecutionRole is AWS's minimal policy for a function to write its own "
            "CloudWatch logs; an equivalent inline policy would gain nothing."
        ),
    ),
    Acknowledgment(
        id="AwsSolutions-IAM5[Resource::*]",
        reason=(
            "X-Ray PutTraceSegments/PutTelemetryRecords (active tracing) have no resource-level "
            "permissions. Other actions on * are acknowledged where they are granted."
        ),
    ),
    Acknowledgment(
        id="AwsSolutions-L1",
        reason=(
            "Python 3.12 on purpose: the layer is built for it (cp312 arm64 wheels) and the code is "
            "tested on it; a newer runtime is a deliberate upgrade of runtime, layer recipe and CI."
        ),
    ),
)

POWERTOOLS_ENVIRONMENT = {
    "POWERTOOLS_SERVICE_NAME": "ferry",
    "POWERTOOLS_METRICS_NAMESPACE": "Ferry",
    "POWERTOOLS_LOG_LEVEL": "INFO",
}


def load_layer_recipe() -> ModuleType:
    """`layers/ferry/build_layer.py` as a module (`layers/` is not a Python package)."""
    spec = importlib.util.spec_from_file_location("ferry_layer_recipe", LAYER_RECIPE / "build_layer.py")
    if spec is None or spec.loader is None:  # pragma: no cover - the file is part of the repo
        raise ImportError(f"cannot load {LAYER_RECIPE / 'build_layer.py'}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@jsii.implements(ILocalBundling)
class PipLocalBundling:
    """Builds the layer with the local pip instead of a Docker container.

    Returns True, or raises with pip's output: falling back to Docker bundling would only fail
    later and less clearly, since the recipe needs the repo's `ferry/` directory.
    """

    def try_bundle(self, output_dir: str, *, image: Any, **_options: Any) -> bool:
        load_layer_recipe().build(Path(output_dir))
        return True


class FerryLayer(Construct):
    """The layer every Ferry function uses, and a factory for those functions."""

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self.layer = lambda_.LayerVersion(
            self,
            "Layer",
            description="Ferry: the ferry package and its runtime dependencies (boto3 from the runtime)",
            compatible_runtimes=[RUNTIME],
            compatible_architectures=[ARCHITECTURE],
            code=lambda_.Code.from_asset(
                str(LAYER_RECIPE),
                # The recipe directory alone does not describe the result (it reads ../../ferry and
                # resolves versions with pip), so the asset is identified by what was built.
                asset_hash_type=AssetHashType.OUTPUT,
                exclude=["build", "__pycache__"],
                bundling=BundlingOptions(image=RUNTIME.bundling_image, local=PipLocalBundling()),
            ),
        )

    def function(
        self,
        scope: Construct,
        construct_id: str,
        *,
        code_dir: Path,
        description: str,
        memory_mb: int,
        timeout_seconds: int,
        environment: dict[str, str],
        **extra: Any,
    ) -> lambda_.Function:
        """A Ferry function: `handler.handler` in `code_dir`, with the shared runtime settings."""
        log_group = logs.LogGroup(scope, f"{construct_id}Logs", retention=LOG_RETENTION)
        function = lambda_.Function(
            scope,
            construct_id,
            description=description,
            runtime=RUNTIME,
            architecture=ARCHITECTURE,
            code=lambda_.Code.from_asset(str(code_dir), exclude=["__pycache__", "*.pyc"]),
            handler="handler.handler",
            layers=[self.layer],
            memory_size=memory_mb,
            timeout=Duration.seconds(timeout_seconds),
            tracing=lambda_.Tracing.ACTIVE,
            log_group=log_group,
            environment={**POWERTOOLS_ENVIRONMENT, **environment},
            **extra,
        )
        Validations.of(function).acknowledge(*FUNCTION_ACKNOWLEDGMENTS)
        return function
