"""Every in-memory twin (ferry/adapters/memory) is run by a contract test of this package, which
also runs its AWS adapter: a twin added without one fails here."""

from __future__ import annotations

import ast
import pathlib

ROOT = pathlib.Path(__file__).resolve().parents[2]


def twins(root: pathlib.Path) -> dict[str, str]:
    """Class name -> module, of every twin (`InMemory...`; records and the ManualClock are not ports)."""
    found = {}
    for path in sorted((root / "ferry/adapters/memory").glob("*.py")):
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.ClassDef) and node.name.startswith("InMemory"):
                found[node.name] = path.stem
    return found


def twins_without_a_contract(root: pathlib.Path) -> list[str]:
    suites = [p.read_text() for p in sorted((root / "tests/contract").glob("test_*.py"))]
    return sorted(name for name in twins(root) if not any(name in text for text in suites))


def test_every_twin_is_run_by_a_contract_suite():
    assert twins(ROOT), "no twins found: the path is wrong"
    assert twins_without_a_contract(ROOT) == []


# Ports whose twin came late (issue #10): named here so a rename or removal of either fails.
LATE_TWINS = {"InMemoryHeldHeads": "queue", "InMemoryRunDriver": "run_driver"}


def test_the_held_heads_and_run_driver_ports_have_twins_with_contracts():
    found = twins(ROOT)
    assert {name: found.get(name) for name in LATE_TWINS} == LATE_TWINS
    assert not set(LATE_TWINS) & set(twins_without_a_contract(ROOT))


def test_the_check_finds_a_twin_without_a_contract(tmp_path: pathlib.Path):
    (tmp_path / "ferry/adapters/memory").mkdir(parents=True)
    (tmp_path / "tests/contract").mkdir(parents=True)
    (tmp_path / "ferry/adapters/memory/heads.py").write_text("class InMemoryFuturePort:\n    pass\n")
    (tmp_path / "ferry/adapters/memory/queue.py").write_text("class InMemoryQueue:\n    pass\n")
    (tmp_path / "tests/contract/test_queue.py").write_text("def test(queue=InMemoryQueue): pass\n")
    assert twins_without_a_contract(tmp_path) == ["InMemoryFuturePort"]
