"""The shipped base's JSON names the runs that made it: a run continued from the shipped
file adds to its history, the same run shipped again replaces its own entry, any other run
starts a new history (scripts/train_base.py, through its real ``ship`` on a tiny model)."""

from __future__ import annotations

import importlib.util
import json
import shutil
from pathlib import Path

import pytest

from hitl_active.models.start import weights_sha256

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "train_base.py"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def train_base():
    spec = importlib.util.spec_from_file_location("train_base_script", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _run_folder(root: Path, tiny_model, model: str, train_base) -> Path:
    """A finished run's folder as train_base.py leaves it: weights, results, run.json."""
    trained = tiny_model.weights.parents[1]  # OUT/train of the tiny model
    out = root / f"run{len(list(root.iterdir())) if root.exists() else 0}"
    shutil.copytree(trained / "weights", out / "train" / "weights")
    shutil.copy(trained / "results.csv", out / "train" / "results.csv")
    train_base.record_run(out, model, "SGD lr0 0.01, cosine over 16, warmup 1")
    return out


def test_the_shipped_history_follows_the_runs_that_made_the_file(tmp_path, tiny_model, train_base):
    data = tiny_model.weights.parents[2] / "data.yaml"
    target = tmp_path / "ship" / "base.pt"
    runs = tmp_path / "runs"
    runs.mkdir()
    epochs = train_base.progress(tiny_model.weights.parents[1].parent)["epochs_done"]
    assert epochs > 0

    first = _run_folder(runs, tiny_model, "yolo11n.yaml", train_base)
    shipped = train_base.ship(first, target, data, tiny_model.imgsz)
    assert [r["from"] for r in shipped["runs"]] == ["yolo11n.yaml (random weights)"]
    assert shipped["epochs"] == epochs and 0.0 <= shipped["mAP50-95"] <= 1.0
    again = train_base.ship(first, target, data, tiny_model.imgsz)  # the same run, again
    assert len(again["runs"]) == 1 and again["epochs"] == epochs

    # a further schedule from the shipped file adds to its history
    further = _run_folder(runs, tiny_model, str(target), train_base)
    assert json.loads((further / "run.json").read_text())["sha256"] == weights_sha256(target)
    shipped = train_base.ship(further, target, data, tiny_model.imgsz)
    assert [r["from"] for r in shipped["runs"]] == ["yolo11n.yaml (random weights)", "base.pt"]
    assert shipped["epochs"] == 2 * epochs
    assert json.loads(target.with_suffix(".json").read_text())["runs"] == shipped["runs"]

    # a fresh run shipped over it starts a new history
    fresh = _run_folder(runs, tiny_model, "yolo11n.yaml", train_base)
    shipped = train_base.ship(fresh, target, data, tiny_model.imgsz)
    assert len(shipped["runs"]) == 1 and shipped["epochs"] == epochs

    # a folder from before runs were recorded keeps the history there
    (fresh / "run.json").unlink()
    kept = train_base.ship(fresh, target, data, tiny_model.imgsz)
    assert kept["runs"] == shipped["runs"]
