"""The package's public names resolve, and importing it stays light."""

from __future__ import annotations

import subprocess
import sys

import hitl_active


def test_every_public_name_resolves():
    for name in hitl_active.__all__:
        assert getattr(hitl_active, name) is not None, name


def test_import_loads_no_heavy_library_and_touches_nothing():
    code = (
        "import sys, hitl_active, hitl_active.cli;"
        "heavy = [m for m in ('torch', 'onnxruntime', 'ultralytics', 'cv2')"
        " if m in sys.modules]; print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr


def test_all_lists_exactly_the_lazy_exports():
    assert set(hitl_active.__all__) == {"__version__", *hitl_active._EXPORTS}
