"""Training and export of the tiny model (the session fixture does the training once)."""

from __future__ import annotations

import numpy as np
import pytest

from hitl_active.models import ModelMetadata, TrainConfig, read_model_metadata


def test_tiny_model_exports_names_size_and_embedding(tiny_model) -> None:
    meta = read_model_metadata(tiny_model.onnx)
    assert isinstance(meta, ModelMetadata)
    assert meta.class_names == tiny_model.class_names
    assert meta.imgsz == (tiny_model.imgsz, tiny_model.imgsz)
    assert meta.stride == 32
    assert meta.has_embedding and meta.dynamic
    assert meta.version == "tiny-v1"
    assert "model.10" in (meta.embedding_layer or "")


def test_onnx_outputs_boxes_and_embedding(tiny_model) -> None:
    import onnxruntime as ort

    session = ort.InferenceSession(str(tiny_model.onnx), providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    assert names == ["output0", "embedding"]
    x = np.random.default_rng(0).random((2, 3, 96, 160), dtype=np.float32)
    boxes, emb = session.run(None, {"images": x})
    nc = len(tiny_model.class_names)
    assert boxes.shape == (2, 4 + nc, (96 // 8) * (160 // 8) + (96 // 16) * (160 // 16) + 15)
    assert emb.shape == (2, 256)
    assert not np.allclose(emb[0], emb[1])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"epochs": 0}, "epochs"),
        ({"imgsz": 100}, "multiple of 32"),
        ({"extra": {"data": "x"}}, "may not set"),
    ],
)
def test_train_config_rejects_bad_values(kwargs, message) -> None:
    with pytest.raises(ValueError, match=message):
        TrainConfig(**kwargs)


def _labels_from_dataset(dataset, n):
    from hitl_active.data.images import image_size
    from hitl_active.formats.yolo import read_yolo_labels

    items = []
    for path in dataset.image_paths()[:n]:
        w, h = image_size(path)
        items.append((path, read_yolo_labels(dataset.label_path(path), path.name, w, h)))
    return items


def test_prepare_dataset_and_fine_tune_from_weights(tiny_model, tmp_path, monkeypatch) -> None:
    """Warm start from a .pt for one epoch on a freshly laid-out dataset."""
    import torch
    import yaml

    from hitl_active.models import prepare_yolo_dataset, train_detector
    from hitl_active.models.device import cpu_training_threads

    items = _labels_from_dataset(tiny_model.dataset, 10)
    data_yaml = prepare_yolo_dataset(items[:8], items[8:], tiny_model.class_names, tmp_path / "ds")
    data = yaml.safe_load(data_yaml.read_text())
    assert data["names"] == dict(enumerate(tiny_model.class_names))
    label_files = sorted((tmp_path / "ds" / "train" / "labels").glob("*.txt"))
    assert len(label_files) == 8
    first = items[0][1]
    assert len(label_files[0].read_text().splitlines()) == len(first)
    assert (tmp_path / "ds" / "val" / "images" / items[8][0].name).exists()

    config = TrainConfig(model=str(tiny_model.weights), epochs=1, imgsz=64, batch=8)
    from hitl_active.models import ultra

    # as for a user who left OMP_NUM_THREADS unset (the suite sets it: tests/conftest.py)
    monkeypatch.setattr(ultra, "_imported_here", True)
    monkeypatch.setattr(ultra, "_omp_before_import", None)
    torch.set_num_threads(1)
    result = train_detector(data_yaml, tmp_path / "run", config)
    assert result.weights.is_file() and result.weights.is_relative_to(tmp_path / "run")
    assert result.epochs_run == 1
    assert "metrics/mAP50-95(B)" in result.metrics
    # training took every core it may run on (or the user's OMP_NUM_THREADS), not 1
    assert torch.get_num_threads() == cpu_training_threads()


def test_prepare_dataset_rejects_bad_input(tiny_model, tmp_path) -> None:
    from hitl_active.models import prepare_yolo_dataset

    items = _labels_from_dataset(tiny_model.dataset, 2)
    with pytest.raises(ValueError, match="class id"):
        prepare_yolo_dataset(items, [], ["only-one"], tmp_path)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        prepare_yolo_dataset([(tmp_path / "gone.jpg", items[0][1])], [], ["a"] * 4, tmp_path)
    from hitl_active.models import train_detector
    from hitl_active.models.start import StartModelError

    with pytest.raises(FileNotFoundError, match="prepare_yolo_dataset"):
        train_detector(tmp_path / "missing.yaml", tmp_path, TrainConfig())
    (tmp_path / "data.yaml").write_text("names: [a]\n")
    with pytest.raises(StartModelError, match=r"absent\.pt not found.*a local \.pt file"):
        train_detector(tmp_path / "data.yaml", tmp_path, TrainConfig(model="absent.pt"))
