"""Layering rules, checked: the domain is plain Python, the Lambda handlers stay thin."""

from __future__ import annotations

import ast
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]


def imported_modules(path: pathlib.Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_domain_and_use_cases_import_no_aws_sdk():
    for folder in ("ferry/domain", "ferry/usecases"):
        for path in (ROOT / folder).glob("*.py"):
            aws = {m for m in imported_modules(path) if m.split(".")[0] in {"boto3", "botocore", "aws_cdk"}}
            assert not aws, f"{path.relative_to(ROOT)} imports {aws}"


def test_importing_the_domain_does_not_load_boto3():
    code = (
        "import sys, pkgutil, importlib, ferry.domain as d\n"
        "[importlib.import_module('ferry.domain.' + m.name) for m in pkgutil.iter_modules(d.__path__)]\n"
        "print('boto3' in sys.modules or 'botocore' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == "False"


def test_lambda_handlers_are_thin_re_exports():
    for path in (ROOT / "functions").glob("*/handler.py"):
        code_lines = [
            line
            for line in path.read_text().splitlines()
            if line.strip() and not line.lstrip().startswith("#")
        ]
        assert len(code_lines) <= 10, f"{path} should only adapt the event, not hold logic"
        assert "ferry.handlers" in path.read_text()


def test_domain_imports_only_the_domain_and_the_standard_library():
    allowed_third_party = {"pydantic"}
    for path in (ROOT / "ferry/domain").glob("*.py"):
        for module in imported_modules(path):
            top = module.split(".")[0]
            if top == "ferry":
                assert module.startswith("ferry.domain"), f"{path.relative_to(ROOT)} imports {module}"
            else:
                assert top in sys.stdlib_module_names or top in allowed_third_party, (
                    f"{path.relative_to(ROOT)} imports {module}"
                )
