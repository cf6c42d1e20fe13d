"""Builds the Ferry Lambda layer into a directory, with pip and without Docker.

The layer targets the stack's Lambda runtime (Python 3.12 on arm64 / Graviton), whatever the
machine running the build: pip downloads manylinux aarch64 wheels for CPython 3.12 only
(`--only-binary=:all:`), so nothing is compiled here. Layout (Lambda adds `/opt/python` to
`sys.path`):

    <out>/python/ferry/...          the repo's own package, copied from ./ferry
    <out>/python/pydantic/...       requirements.txt, resolved for the Lambda platform

The `ferry` package is copied rather than pip-installed: pip refuses to build a local source
tree for a foreign `--platform`, and a copy writes nothing (build/, *.egg-info) into the repo.
Package data (py.typed, api/openapi.json) lives inside ./ferry, so the copy carries it.

boto3, botocore and s3transfer are removed after the install: the Lambda runtime ships a matching
set, and a second botocore on `/opt/python` would shadow the runtime's and no longer match its
boto3. urllib3 stays: the dispatcher needs urllib3 >= 2.3 (`HTTPResponse.read1`, one deadline per
attempt), and the layer's copy, first on `sys.path`, is one the runtime's botocore accepts
(botocore allows any urllib3 below 3 except 2.2.0 on Python 3.10+).

Used by the CDK stack's local bundling (stacks/constructs/layer.py) during `cdk synth`, and
runnable by hand to look at the result:

    .venv/bin/python layers/ferry/build_layer.py --out layers/ferry/build
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parent.parent
REQUIREMENTS = HERE / "requirements.txt"

# The stack's Lambda runtime and architecture (stacks/constructs/layer.py uses the same).
PYTHON_VERSION = "3.12"
PLATFORMS = ("manylinux2014_aarch64",)
# Provided by the Lambda runtime; removed from the layer (see the module docstring).
RUNTIME_PROVIDED = ("boto3", "botocore", "s3transfer")


def pip_command(target: Path, requirements: Path = REQUIREMENTS, python: str = sys.executable) -> list[str]:
    """The pip invocation that installs the layer's third-party dependencies into `target`."""
    command = [
        python,
        "-m",
        "pip",
        "install",
        "--disable-pip-version-check",
        "--no-input",
        # Byte code compiled by the build machine's Python would be for the wrong version.
        "--no-compile",
        "--target",
        str(target),
        "--implementation",
        "cp",
        "--python-version",
        PYTHON_VERSION,
        "--only-binary=:all:",
    ]
    for platform in PLATFORMS:
        command += ["--platform", platform]
    return [*command, "--requirement", str(requirements)]


def copy_package(source: Path, target: Path) -> Path:
    """Copy the `ferry` package directory into `target`, without byte-code caches."""
    destination = target / source.name
    shutil.copytree(source, destination, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return destination


def _normalized(name: str) -> str:
    return name.lower().replace("-", "_")


def prune(target: Path) -> list[str]:
    """Remove what the Lambda runtime provides (and console scripts, useless in a layer)."""
    removed = []
    provided = {_normalized(name) for name in RUNTIME_PROVIDED}
    for entry in sorted(target.iterdir()):
        stem = _normalized(entry.name.split("-", 1)[0]) if entry.name.endswith(".dist-info") else entry.name
        if _normalized(stem) not in provided and entry.name != "bin":
            continue
        if entry.is_dir():
            shutil.rmtree(entry)
        else:
            entry.unlink()
        removed.append(entry.name)
    return removed


def build(out: Path, *, repo_root: Path = REPO_ROOT, requirements: Path = REQUIREMENTS) -> Path:
    """Build the layer into `out` (its `python/` directory is created); returns that directory."""
    target = out / "python"
    target.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(pip_command(target, requirements), capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(
            f"pip could not install the layer's dependencies (exit {result.returncode}):\n"
            f"{result.stdout}\n{result.stderr}"
        )
    prune(target)
    copy_package(repo_root / "ferry", target)
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out", type=Path, default=HERE / "build", help="output directory (default: %(default)s)"
    )
    args = parser.parse_args(argv)
    if args.out.exists():
        shutil.rmtree(args.out)
    target = build(args.out)
    print(f"layer built in {target.parent}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
