"""The loop's versions and the benchmark's models are trained by one recipe,
``models.train.train_on_labels``: a YOLO dataset under ``work/data``, training without
per-epoch validation under ``work/runs``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from hitl_active.bench.runner import SimRunner
from hitl_active.formats.core import ImageLabels
from hitl_active.loop import steps
from hitl_active.models import train as train_module
from hitl_active.models.train import TrainConfig, train_on_labels


class Stop(Exception):
    pass


def test_the_recipe_writes_the_dataset_and_never_validates_per_epoch(tmp_path, monkeypatch):
    seen = {}

    def fake_train(data_yaml: Path, out_dir: Path, config: TrainConfig):
        seen.update(data=data_yaml, out=out_dir, config=config)
        raise Stop  # training itself is tested with real Ultralytics elsewhere

    monkeypatch.setattr(train_module, "train_detector", fake_train)
    image = tmp_path / "a.jpg"
    Image.new("RGB", (40, 30)).save(image)
    labels = ImageLabels(str(image), 40, 30, np.array([[2, 2, 20, 20]], np.float32), np.array([0]))
    config = TrainConfig(model="yolo11n.yaml", epochs=1, extra={"mosaic": 0.0})
    with pytest.raises(Stop):
        train_on_labels([(image, labels)], ["car"], tmp_path / "work", config)
    assert seen["data"].is_file() and seen["data"].parent == tmp_path / "work" / "data"
    assert seen["out"] == tmp_path / "work" / "runs"
    assert seen["config"].extra == {"val": False, "mosaic": 0.0}


def test_the_loop_and_the_benchmark_train_through_the_same_recipe() -> None:
    assert "train_on_labels" in steps.train_version.__code__.co_names
    assert "train_on_labels" in SimRunner.fit.__code__.co_names
    assert "train_detector" not in steps.train_version.__code__.co_names
    assert "train_detector" not in SimRunner.fit.__code__.co_names
