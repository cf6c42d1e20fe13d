"""The in-memory twins serve fast tests only: nothing Ferry runs (Lambda handlers, `ferry dev`,
the CLI, wiring) imports them."""

from __future__ import annotations

import pathlib

from tests.unit.test_architecture import ROOT, imported_modules


def runtime_modules_importing_twins(root: pathlib.Path) -> list[str]:
    found = []
    for path in sorted((root / "ferry").rglob("*.py")):
        if path.is_relative_to(root / "ferry/adapters/memory"):
            continue
        if any(m.startswith("ferry.adapters.memory") for m in imported_modules(path)):
            found.append(path.relative_to(root).as_posix())
    return found


def test_no_runtime_module_imports_an_in_memory_twin():
    assert runtime_modules_importing_twins(ROOT) == []


def test_the_check_finds_a_planted_import(tmp_path: pathlib.Path):
    (tmp_path / "ferry/adapters/memory").mkdir(parents=True)
    (tmp_path / "ferry/adapters/memory/history.py").write_text("from ferry.adapters.memory.queue import X\n")
    (tmp_path / "ferry/wiring.py").write_text("from ferry.adapters.memory.history import InMemoryHistory\n")
    assert runtime_modules_importing_twins(tmp_path) == ["ferry/wiring.py"]
