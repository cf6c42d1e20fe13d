"""Benchmark: the Lambda layer's zipped size (goal ≤ 10 MB; Lambda allows 50 MB zipped for a
direct upload and 250 MB unzipped for a function with all its layers).

Builds the layer with the real recipe (layers/ferry/build_layer.py: pip, arm64 wheels for
CPython 3.12, byte code compiled when a Python 3.12 is here), zips it as CDK uploads it
(deflate) and reports the sizes and the largest packages.

Run: `.venv/bin/python -m benchmarks.layer_size` (about 10 s; pip needs the package index or
its cache).
"""

from __future__ import annotations

import runpy
import tempfile
import zipfile
from pathlib import Path
from typing import Any

# The recipe as a plain script (importing stacks.constructs.layer would start CDK's jsii runtime).
RECIPE = Path(__file__).resolve().parents[1] / "layers" / "ferry" / "build_layer.py"
MB = 1024 * 1024


def _size(path: Path) -> int:
    return (
        sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
        if path.is_dir()
        else path.stat().st_size
    )


def measure() -> dict[str, Any]:
    build = runpy.run_path(str(RECIPE))["build"]
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "layer"
        target = build(out)
        archive = Path(tmp) / "layer.zip"
        with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            for path in sorted(out.rglob("*")):
                if path.is_file():
                    zf.write(path, path.relative_to(out))
        packages = sorted(((_size(p), p.name) for p in target.iterdir()), reverse=True)
        return {
            "zipped_mb": archive.stat().st_size / MB,
            "unzipped_mb": _size(out) / MB,
            "bytecode": any(target.rglob("*.cpython-312.pyc")),
            "largest": [(name, size / MB) for size, name in packages[:6]],
        }


def main() -> None:
    figures = measure()
    print(
        f"layer: {figures['zipped_mb']:.1f} MB zipped, {figures['unzipped_mb']:.1f} MB unzipped, "
        f"byte code {'included' if figures['bytecode'] else 'MISSING (no Python 3.12 here)'}"
    )
    for name, size in figures["largest"]:
        print(f"    {name:40s} {size:6.1f} MB")


if __name__ == "__main__":
    main()
