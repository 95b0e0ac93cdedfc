"""The production loop does not depend on the benchmark room: no module under
``hitl_active/loop`` (or the rooms below and beside it, or ``sampling``) imports
``hitl_active.bench``."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "hitl_active"


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


@pytest.mark.parametrize(
    "room", ["loop", "store", "workspace", "team", "reports", "sampling", "serving", "server"]
)
def test_product_rooms_do_not_import_the_benchmark(room):
    files = sorted((PACKAGE / room).rglob("*.py"))
    assert files, f"no modules under hitl_active/{room}"
    offenders = {}
    for f in files:
        bench = sorted(n for n in _imports(f) if n.startswith("hitl_active.bench"))
        if bench:
            offenders[str(f.relative_to(PACKAGE))] = bench
    assert offenders == {}
