"""Small real workspaces for the loop's integration tests (tiny images, one epoch)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np

from hitl_active.data.synthetic import SyntheticSpec, make_synthetic_dataset
from hitl_active.workspace.workspace import LoopConfig, Workspace

REPO = Path(__file__).resolve().parents[2]
CLI = [sys.executable, "-m", "hitl_active"]


def tiny_dataset(root: Path, n_images: int = 30, seed: int = 3) -> Path:
    spec = SyntheticSpec(n_images=n_images, min_side=80, max_side=112, seed=seed,
                         duplicate_fraction=0.0)  # fmt: skip
    make_synthetic_dataset(root, spec, progress=False)
    return root


def tiny_workspace(
    root: Path, data: Path, round_size: int = 6, gold_size: int = 6, epochs: int = 1
) -> Workspace:
    from hitl_active.data.synthetic import SyntheticDataset

    cfg = LoopConfig(
        images=str(data / "images"), classes=SyntheticDataset.load(data).class_names,
        imgsz=64, epochs=epochs, train_batch=8, round_size=round_size, gold_size=gold_size,
        strategy="entropy-mean", conf_threshold=0.05,
    )  # fmt: skip
    ws = Workspace.create(root, cfg)
    ws.freeze_gold(np.random.default_rng(0), labels_dir=data / "labels")
    return ws


def run_cli(
    *args: str, env: dict | None = None, timeout: float = 300
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*CLI, *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout
    )


def _planted(truth, n_classes: int):
    """A sure, right box on every object and one uncertain region on empty background."""
    from hitl_active.detections import Detections

    boxes = [*truth.xyxy.tolist(), [0, 0, 6, 6]]
    probs = np.zeros((len(boxes), n_classes), np.float32)
    for k, c in enumerate(truth.class_id.tolist()):
        probs[k, c] = 0.95
    probs[-1, 0] = 0.3
    return Detections.from_class_probs(
        np.asarray(boxes, np.float32), probs, image_size=(truth.width, truth.height)
    )


def planted_review_workspace(root: Path, data: Path, **config):
    """A box-review workspace whose promoted version's predictions are planted (never run):
    a sure box on every object and an uncertain region on background, per image. Returns
    the workspace, the truth per image path and the version's name."""
    from hitl_active.formats.yolo import read_yolo_labels
    from hitl_active.loop.registry import ModelRegistry

    classes = (data / "classes.txt").read_text().split()
    settings = dict(round_size=4, gold_size=0, conf_threshold=0.25, review="boxes",
                    budget_seconds=40.0) | config  # fmt: skip
    ws = Workspace.create(
        root, LoopConfig(images=str(data / "images"), classes=classes, **settings)
    )
    reg = ModelRegistry(ws.store, ws.models_dir)
    name = reg.begin_version(None)
    onnx = root / "planted.onnx"  # never run: the predictions are planted
    onnx.write_bytes(b"")
    reg.finish_version(name, None, onnx, {}, {"gold": {"map50_95": 0.1}})
    reg.promote(name, force=True)
    truths, rows = {}, []
    for img in ws.store.images():
        truth = read_yolo_labels(
            data / "labels" / (Path(img.path).stem + ".txt"), img.path, img.width, img.height,
            len(classes),
        )  # fmt: skip
        truths[img.path] = truth
        rows.append((img.id, _planted(truth, len(classes)), None, None))
    ws.store.put_predictions(name, rows)
    return ws, truths, name
