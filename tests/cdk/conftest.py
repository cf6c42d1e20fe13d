"""The Ferry app, synthesized once per test session, as the CDK CLI would (cdk.json's feature
flags, cdk-nag attached) except for the layer bundling, which is skipped: the tests read the
template, they do not need pip to build the layer (tests/cdk/test_layer_recipe.py covers the
recipe, `npx cdk synth` runs it)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aws_cdk.assertions import Template

from app import build_app
from stacks.ferry_stack import FerryStack


@dataclass(frozen=True)
class Synth:
    stack: FerryStack
    outdir: Path
    template_json: dict[str, Any]
    # Set when synthesis itself failed: cdk-nag (a validation plugin) reports unacknowledged
    # findings by failing the synth after the template was written.
    error: str | None

    @property
    def template(self) -> Template:
        return Template.from_json(self.template_json)

    @property
    def resources(self) -> dict[str, dict[str, Any]]:
        return self.template_json["Resources"]

    def validation_report(self) -> dict[str, Any]:
        return json.loads((self.outdir / "validation-report.json").read_text())

    def metadata(self) -> dict[str, list[dict[str, Any]]]:
        return json.loads((self.outdir / f"{self.stack.artifact_id}.metadata.json").read_text())


@pytest.fixture(scope="session")
def synth(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    outdir = tmp_path_factory.mktemp("cdk.out")
    # An empty bundling-stacks list makes the CDK skip asset bundling (no pip, no Docker).
    app, stack = build_app(context={"aws:cdk:bundling-stacks": []}, outdir=str(outdir))
    error = None
    try:
        app.synth()
    except RuntimeError as exc:
        error = str(exc)
    template_file = outdir / stack.template_file
    if not template_file.exists():
        pytest.fail(f"synthesis failed before writing the template: {error}")
    return Synth(stack=stack, outdir=outdir, template_json=json.loads(template_file.read_text()), error=error)


@pytest.fixture(scope="session")
def template(synth: Synth) -> Template:
    return synth.template
