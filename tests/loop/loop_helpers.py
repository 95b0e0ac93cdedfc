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
