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

Byte code: Lambda mounts a layer read-only, so a layer without `__pycache__` is compiled again
on every cold start (≈200 ms for the handler import and ≈1 s for the first invocation's imports,
measured by benchmarks/cold_start.py). When a CPython 3.12 interpreter is on this machine
(`python3.12` on PATH, pyenv's 3.12, or `FERRY_LAYER_PYTHON`), the build compiles every module
with it, `unchecked-hash` so the zip's timestamps never invalidate them; without one the layer
is built as before, without byte code, and the build says so.

boto3, botocore, s3transfer and urllib3 are removed after the install: the Lambda runtime ships
a matching set, and a second botocore (or urllib3) on `/opt/python` would shadow the runtime's
and no longer match its boto3. Ferry's own HTTP deliveries use the standard library's
http.client (ferry/adapters/http_target.py), not urllib3.

Used by the CDK stack's local bundling (stacks/constructs/layer.py) during `cdk synth`, and
runnable by hand to look at the result:

    .venv/bin/python layers/ferry/build_layer.py --out layers/ferry/build
"""

from __future__ import annotations

import argparse
import os
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
RUNTIME_PROVIDED = ("boto3", "botocore", "s3transfer", "urllib3")


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


def lambda_python() -> str | None:
    """A CPython interpreter of the Lambda runtime's version on this machine, or None."""
    candidates = [
        os.environ.get("FERRY_LAYER_PYTHON"),
        sys.executable,
        shutil.which(f"python{PYTHON_VERSION}"),
        *sorted(str(p) for p in Path.home().glob(f".pyenv/versions/{PYTHON_VERSION}.*/bin/python3")),
    ]
    probe = f"import sys; sys.exit(sys.version_info[:2] != {tuple(map(int, PYTHON_VERSION.split('.')))})"
    for candidate in filter(None, candidates):
        # (A pyenv shim for a version that is not selected exits non-zero here.)
        if subprocess.run([candidate, "-c", probe], capture_output=True, check=False).returncode == 0:
            return candidate
    return None


def compile_bytecode(target: Path, python: str) -> None:
    """Compile every module under `target` with `python` (the Lambda runtime's version)."""
    command = [python, "-m", "compileall", "-q", "-j", "0", "--invalidation-mode", "unchecked-hash"]
    result = subprocess.run([*command, str(target)], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"compileall failed (exit {result.returncode}):\n{result.stdout}\n{result.stderr}")


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
    python = lambda_python()
    if python is None:
        print(
            f"no Python {PYTHON_VERSION} here: the layer carries no byte code, so Lambda compiles its "
            "modules on every cold start",
            file=sys.stderr,
        )
    else:
        compile_bytecode(target, python)
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
