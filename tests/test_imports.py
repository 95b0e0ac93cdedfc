"""Imports sit at the top of a module. The files ruff lets import inside a function
(pyproject.toml, PLC0415) do so only for heavy or optional third-party modules, and for the
two project imports named here with their reason; the CLI loads each command's code when the
command runs."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "hitl_active"

#: Third-party modules a function may import: slow to load, or needed by one path only.
HEAVY = {
    "torch", "ultralytics", "onnx", "onnxruntime", "google", "ray", "matplotlib", "cv2",
    "scipy", "alembic", "psutil", "cleanlab",
}  # fmt: skip

#: Project modules a function may import, with the reason.
LAZY = {
    ("loop/steps.py", "hitl_active.loop.ray_prelabel"): "the Ray path only; it imports steps",
    ("store/alembic/versions/0001_baseline.py", "hitl_active.store.migrations"): (
        "Alembic loads revision files itself, from inside migrations"
    ),
}


def _function_imports(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text())
    found = []
    for fn in ast.walk(tree):
        if not isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        for node in ast.walk(fn):
            if isinstance(node, ast.ImportFrom) and node.module:
                found.append((node.lineno, node.module))
            elif isinstance(node, ast.Import):
                found.extend((node.lineno, a.name) for a in node.names)
    return found


def test_functions_import_only_heavy_modules_outside_the_cli() -> None:
    wrong = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE).as_posix()
        if rel.startswith("cli/"):
            continue
        for line, module in set(_function_imports(path)):
            if module.split(".")[0] in HEAVY or (rel, module) in LAZY:
                continue
            wrong.append(f"hitl_active/{rel}:{line} imports {module} inside a function")
    assert not wrong, "\n".join(sorted(wrong))


def test_the_command_line_loads_no_command_code_until_a_command_runs() -> None:
    code = (
        "import json, sys, hitl_active.cli; "
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith('hitl_active.'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    rooms = {m.split(".")[1] for m in json.loads(out.stdout)}
    assert "cli" in rooms
    assert not rooms & {"loop", "store", "models", "server", "team", "serving"}, rooms


def test_serve_runs_without_the_training_stack() -> None:
    """requirements-serve.txt leaves torch and Ultralytics out: the server, its pages, the
    engine and the state store import without them."""
    code = (
        "import sys\n"
        "class Absent:  # as if torch and Ultralytics were not installed\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in ('torch', 'ultralytics', 'torchvision'):\n"
        "            raise ModuleNotFoundError(name)\n"
        "sys.meta_path.insert(0, Absent())\n"
        "import hitl_active.cli.labelstudio, hitl_active.server.app, hitl_active.serving.engine\n"
        "import hitl_active.server.pages.routes, hitl_active.workspace.workspace\n"
        "from hitl_active.server import AppSettings, create_app\n"
        "create_app(AppSettings(webhook_secret='x'))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    wanted = (PACKAGE.parent / "requirements-serve.txt").read_text()
    assert "torch" not in wanted.replace("without the training stack (torch", "")
    assert "ultralytics" not in wanted.lower().replace("torch, ultralytics", "")
