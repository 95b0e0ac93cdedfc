"""serving/ is inference only, and importing it loads nothing heavy.

The import layers of the whole package are import-linter contracts in ``pyproject.toml``
(``make lint`` and ``make test`` run ``lint-imports``); this checks what a contract cannot:
the modules that are really loaded when a user imports the engine.
"""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ("torch", "ultralytics", "onnx", "fastapi", "httpx", "hitl_active.labelstudio")


def _loaded_after(statement: str) -> set[str]:
    code = f"import json, sys\n{statement}\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    return set(json.loads(out.stdout.strip().splitlines()[-1]))


def test_importing_the_engine_loads_no_torch_ultralytics_or_onnx() -> None:
    loaded = _loaded_after("from hitl_active.serving import Engine, EngineConfig")
    assert "hitl_active.serving.engine" in loaded
    heavy = sorted(m for m in loaded if m.split(".")[0] in HEAVY or m.startswith(HEAVY))
    assert not heavy, f"importing the engine loaded {heavy}"


def test_importing_the_package_loads_no_torch() -> None:
    loaded = _loaded_after("import hitl_active")
    assert not {"torch", "ultralytics"} & loaded
