"""The Lambda layer recipe (layers/ferry), checked without running pip."""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path

import pytest

from stacks.constructs import layer

pytestmark = pytest.mark.cdk

ROOT = Path(__file__).resolve().parents[2]
recipe = layer.load_layer_recipe()


def _requirements(lines: list[str]) -> list[str]:
    return [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]


def test_layer_requirements_are_the_runtime_dependencies_without_boto3():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    runtime = [dep for dep in project["dependencies"] if not dep.startswith("boto3")]
    layer_requirements = _requirements((ROOT / "layers/ferry/requirements.txt").read_text().splitlines())
    assert layer_requirements == runtime


def test_pip_installs_only_cp312_arm64_wheels(tmp_path: Path):
    command = recipe.pip_command(tmp_path / "python")
    assert command[:4] == [sys.executable, "-m", "pip", "install"]
    joined = " ".join(command)
    for expected in (
        "--platform manylinux2014_aarch64",
        "--implementation cp",
        "--python-version 3.12",
        "--only-binary=:all:",
        f"--target {tmp_path / 'python'}",
        f"--requirement {recipe.REQUIREMENTS}",
    ):
        assert expected in joined
    # Byte code from the build machine's interpreter would be for another Python version.
    assert "--no-compile" in command


def test_the_ferry_package_is_copied_without_bytecode_caches(tmp_path: Path):
    source = tmp_path / "src" / "ferry"
    (source / "api" / "__pycache__").mkdir(parents=True)
    (source / "__init__.py").write_text("")
    (source / "py.typed").write_text("")
    (source / "api" / "openapi.json").write_text("{}")
    (source / "api" / "__pycache__" / "app.cpython-312.pyc").write_bytes(b"")
    (source / "stale.pyc").write_bytes(b"")

    copied = recipe.copy_package(source, tmp_path / "out" / "python")

    files = sorted(str(p.relative_to(copied)) for p in copied.rglob("*") if p.is_file())
    assert files == ["__init__.py", "api/openapi.json", "py.typed"]


def test_what_the_lambda_runtime_provides_is_removed_from_the_layer(tmp_path: Path):
    for name in (
        "boto3",
        "boto3-1.40.0.dist-info",
        "botocore",
        "botocore-1.40.0.dist-info",
        "s3transfer",
        "urllib3",
        "urllib3-2.5.0.dist-info",
        "bin",
        "pydantic",
        "pydantic-2.11.0.dist-info",
    ):
        (tmp_path / name).mkdir()
    (tmp_path / "typing_extensions.py").write_text("")

    recipe.prune(tmp_path)

    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "pydantic",
        "pydantic-2.11.0.dist-info",
        "typing_extensions.py",
    ]


def test_local_bundling_builds_the_layer_without_docker(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    built = []

    class FakeRecipe:
        @staticmethod
        def build(out: Path) -> Path:
            built.append(out)
            return out / "python"

    monkeypatch.setattr(layer, "load_layer_recipe", lambda: FakeRecipe)
    assert layer.PipLocalBundling().try_bundle(str(tmp_path), image=None) is True
    assert built == [tmp_path]


@pytest.mark.skipif(recipe.lambda_python() is None, reason="no Python 3.12 on this machine")
def test_the_layer_carries_byte_code_for_the_lambda_python_that_never_checks_timestamps(tmp_path: Path):
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("VALUE = 1\n")

    recipe.compile_bytecode(tmp_path, recipe.lambda_python())

    [compiled] = (tmp_path / "pkg" / "__pycache__").iterdir()
    assert compiled.name == "__init__.cpython-312.pyc"
    # PEP 552 flags: 0b01 = hash-based, 0b10 = check_source; unchecked-hash is 0b01.
    assert int.from_bytes(compiled.read_bytes()[4:8], "little") == 0b01


def test_no_interpreter_of_another_version_compiles_the_layer(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(recipe, "PYTHON_VERSION", "2.1")
    assert recipe.lambda_python() is None
