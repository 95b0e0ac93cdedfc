"""The workforce estimators are pure: they import the core types and each other, never the
loop, Label Studio, the models, the server or the benchmark (which sits above them)."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "hitl_active"
ALLOWED = (
    "hitl_active.boxes",
    "hitl_active.formats.core",
    "hitl_active.i18n",  # marks texts for the catalogues (N_), nothing more
    "hitl_active.safeyaml",
    "hitl_active.workforce",
)


def test_workforce_imports_only_core_and_itself():
    offenders = {}
    for f in sorted((PACKAGE / "workforce").glob("*.py")):
        for node in ast.walk(ast.parse(f.read_text(), filename=str(f))):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module]
                if isinstance(node, ast.ImportFrom) and node.module
                else []
            )
            bad = [n for n in names if n.startswith("hitl_active") and not n.startswith(ALLOWED)]
            if bad:
                offenders.setdefault(f.name, []).extend(bad)
    assert offenders == {}
