"""The README's Python walk of the loop (init, rounds answered by a simulated annotator,
export) runs as written, on a generated pool in a temporary folder."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[2] / "README.md"

pytestmark = pytest.mark.slow


def test_the_readme_python_walk_runs(tmp_path, monkeypatch, capsys) -> None:
    from hitl_active import SyntheticSpec, make_synthetic_dataset

    text = README.read_text(encoding="utf-8")
    (walk,) = [b for b in re.findall(r"```python\n(.*?)```", text, re.S) if "Loop(" in b]
    spec = SyntheticSpec(n_images=40, min_side=96, max_side=128, seed=3, duplicate_fraction=0.0)
    make_synthetic_dataset(tmp_path / "pool", spec, progress=False)
    monkeypatch.chdir(tmp_path)
    exec(compile(walk, "README.md", "exec"), {})
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines[:2]] == ["1", "2"]  # a line per round
    assert int(lines[-1]) > 0 and (tmp_path / "delivery").is_dir()
