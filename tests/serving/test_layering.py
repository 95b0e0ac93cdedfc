"""serving/ is inference only: ONNX Runtime and numpy, never the layers that sit above it."""

from __future__ import annotations

import ast
from pathlib import Path

import hitl_active.serving

FORBIDDEN = ("fastapi", "starlette", "uvicorn", "httpx", "torch", "ultralytics", "label_studio")
FORBIDDEN_OURS = ("hitl_active.models", "hitl_active.labelstudio", "hitl_active.server")


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_serving_imports_no_web_training_or_label_studio_module() -> None:
    root = Path(hitl_active.serving.__file__).parent
    files = sorted(root.glob("*.py"))
    assert any(f.name == "metadata.py" for f in files)
    bad = {
        f"{f.name}: {name}"
        for f in files
        for name in _imports(f)
        if name.split(".")[0] in FORBIDDEN or name.startswith(FORBIDDEN_OURS)
    }
    assert not bad, f"serving/ must stay inference-only; found imports {sorted(bad)}"
