#!/usr/bin/env python3
"""CDK entry point: `npx cdk synth` / `npx cdk deploy` run this (see cdk.json and docs/deploy.md).

Builds the Ferry stack from `ferry.config.DEFAULT_CONFIG` and checks it with cdk-nag's AWS
Solutions rules: any finding that is not acknowledged (with a reason, next to the resource it
concerns) fails the synth.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks

from ferry.config import DEFAULT_CONFIG, FerryConfig
from stacks.ferry_stack import FerryStack

ROOT = Path(__file__).resolve().parent
STACK_NAME = "Ferry"


def cdk_json_context() -> dict[str, Any]:
    """The context (feature flags) in cdk.json, so an app built outside the CDK CLI (the tests)
    synthesizes exactly what `cdk synth` does."""
    return json.loads((ROOT / "cdk.json").read_text())["context"]


def build_app(
    *, context: dict[str, Any] | None = None, outdir: str | None = None, config: FerryConfig = DEFAULT_CONFIG
) -> tuple[cdk.App, FerryStack]:
    app = cdk.App(context={**cdk_json_context(), **(context or {})}, outdir=outdir)
    stack = FerryStack(app, STACK_NAME, config=config)
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app, verbose=True))
    return app, stack


if __name__ == "__main__":
    build_app()[0].synth()
