"""The engine on a real (tiny, trained) ONNX model."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from hitl_active.data.images import read_image
from hitl_active.serving import Engine, EngineConfig


@pytest.fixture(scope="module")
def engine(tiny_model) -> Engine:
    return Engine(tiny_model.onnx, EngineConfig(conf_floor=0.01, batch_size=4))


def test_engine_reads_metadata(engine, tiny_model) -> None:
    assert engine.class_names == tiny_model.class_names
    assert engine.imgsz == (tiny_model.imgsz, tiny_model.imgsz)
    assert engine.providers == ["CPUExecutionProvider"]
    assert engine.model_version == "tiny-v1"
    assert engine.rect


def test_predict_finds_boxes_with_probs_and_embeddings(engine, tiny_model) -> None:
    paths = tiny_model.dataset.image_paths()[:8]
    images = [read_image(p) for p in paths]
    dets = engine.predict(images)
    assert len(dets) == 8
    for image, det in zip(images, dets, strict=True):
        assert det.image_size == (image.shape[1], image.shape[0])
        assert det.embedding is not None and det.embedding.shape == (256,)
        assert det.model_version == "tiny-v1"
        assert det.class_probs.shape == (len(det), 4)
        assert (det.confidence > 0.01).all()
        np.testing.assert_allclose(det.class_probs.max(axis=1), det.confidence)
        if len(det):
            assert (det.xyxy[:, [0, 2]] <= image.shape[1]).all()
            assert (det.xyxy[:, [1, 3]] <= image.shape[0]).all()
    assert sum(len(d) for d in dets) > 0, "the tiny model should find boxes at conf 0.01"
    assert not np.allclose(dets[0].embedding, dets[1].embedding)


def test_batched_equals_one_by_one(tiny_model) -> None:
    paths = tiny_model.dataset.image_paths()[:6]
    images = [read_image(p) for p in paths]
    batched = Engine(tiny_model.onnx, EngineConfig(batch_size=6)).predict(images)
    single = Engine(tiny_model.onnx, EngineConfig(batch_size=1)).predict(images)
    for a, b in zip(batched, single, strict=True):
        assert len(a) == len(b)
        np.testing.assert_allclose(a.xyxy, b.xyxy, atol=0.05)
        np.testing.assert_allclose(a.class_probs, b.class_probs, atol=1e-4)


def test_predict_paths_streams_in_order_and_reports_bad_files(engine, tiny_model, tmp_path):
    good = tiny_model.dataset.image_paths()[:5]
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"not an image")
    cut = tmp_path / "cut.jpg"
    cut.write_bytes(good[0].read_bytes()[:600])
    paths = [good[0], bad, good[1], tmp_path / "missing.png", good[2], cut, *good[3:]]
    out = list(engine.predict_paths(iter(paths), progress=False))
    assert [p.path for p in out] == [Path(p) for p in paths]
    errors = {p.path.name: p.error for p in out if p.error}
    assert set(errors) == {"bad.jpg", "missing.png", "cut.jpg"}
    assert "not found" in errors["missing.png"] and "truncated" in errors["cut.jpg"]
    direct = engine.predict([read_image(p) for p in good])
    streamed = [p.detections for p in out if p.detections is not None]
    for a, b in zip(direct, streamed, strict=True):
        np.testing.assert_allclose(a.xyxy, b.xyxy, atol=0.5)  # JPEG decoders may differ by 1


def test_rect_batches_are_grouped_by_shape(tiny_model) -> None:
    engine = Engine(tiny_model.onnx, EngineConfig(batch_size=4))
    list(engine.predict_paths(tiny_model.dataset.image_paths()[:24], progress=False))
    assert engine.stats.images == 24
    shapes = {s[2:] for s in engine.stats.batch_shapes}
    assert len(shapes) > 1, "mixed image sizes should give several rectangular input shapes"
    assert all(h % 32 == 0 and w % 32 == 0 and max(h, w) == 128 for h, w in shapes)


def test_rejects_non_rgb_input(engine) -> None:
    with pytest.raises(ValueError, match="uint8 RGB"):
        engine.predict([np.zeros((10, 10), np.uint8)])


def _unmatched(xyxy, cls, conf, other_xyxy, other_cls, other_conf, px=1.0, score=2e-3):
    """Boxes without a partner of the same class within ``px`` pixels and ``score``."""
    if not len(xyxy):
        return []
    if not len(other_xyxy):
        return list(range(len(xyxy)))
    dist = np.abs(xyxy[:, None] - other_xyxy[None]).max(-1)
    close = (dist <= px) & (cls[:, None] == other_cls[None])
    close &= np.abs(conf[:, None] - other_conf[None]) <= score
    return np.flatnonzero(~close.any(axis=1)).tolist()


def test_parity_with_ultralytics_on_real_images(tiny_model, raccoon_dir, tmp_path) -> None:
    """Same boxes (within 1 px), classes and scores as Ultralytics' own ONNX predict.

    Both letterbox to the minimal stride-aligned rectangle (Ultralytics does so for a dynamic
    ONNX model with ``rect=True``, its predict default) and run class-aware NMS at IoU 0.7.
    Boxes scored at the confidence floor itself can fall on either side of it depending on
    how a CPU rounds, so every box scored at least ``margin`` above the floor on one side
    must have a partner on the other side (which keeps everything down to the floor).
    """
    from ultralytics import YOLO

    paths = sorted((raccoon_dir / "images").glob("*.jpg"))[:12]
    paths += tiny_model.dataset.image_paths()[:6]  # the model's own kind of images score higher
    conf, margin = 0.01, 0.01
    engine = Engine(tiny_model.onnx, EngineConfig(conf_floor=conf, batch_size=4))
    ours = list(engine.predict_paths(paths, progress=False))
    onnx_copy = tmp_path / "model.onnx"  # Ultralytics may write next to the model
    shutil.copy(tiny_model.onnx, onnx_copy)
    yolo = YOLO(str(onnx_copy), task="detect")
    compared = 0
    for path, pred in zip(paths, ours, strict=True):
        ref = yolo.predict(str(path), imgsz=tiny_model.imgsz, conf=conf, iou=0.7, verbose=False)[0]
        theirs = (
            ref.boxes.xyxy.numpy(),
            ref.boxes.cls.numpy().astype(int),
            ref.boxes.conf.numpy(),
        )
        det = pred.detections
        mine = (det.xyxy, det.class_id, det.confidence)
        for a, b in ((mine, theirs), (theirs, mine)):
            clear = a[2] >= conf + margin
            missing = _unmatched(*(x[clear] for x in a), *b)
            assert not missing, f"{path.name}: boxes {missing} above {conf + margin} unmatched"
        compared += int((det.confidence >= conf + margin).sum())
    assert compared > 0, "no boxes clear of the floor to compare"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"conf_floor": 1.0}, "conf_floor"),
        ({"iou": 0.0}, "iou"),
        ({"batch_size": 0}, "batch_size"),
        ({"infer_workers": 0}, "infer_workers"),
        ({"imgsz": 100}, "multiple of 32"),
    ],
)
def test_engine_config_rejects_bad_values(kwargs, message) -> None:
    with pytest.raises(ValueError, match=message):
        EngineConfig(**kwargs)


def test_static_model_runs_square_one_at_a_time(tiny_model, tmp_path, caplog) -> None:
    from hitl_active.models import export_onnx

    static = export_onnx(tiny_model.weights, tmp_path / "static.onnx", dynamic=False)
    engine = Engine(static, EngineConfig(batch_size=8, imgsz=320))
    assert "ignored" in caplog.text  # a fixed-size model cannot take imgsz=320
    assert engine.imgsz == (tiny_model.imgsz, tiny_model.imgsz)
    assert not engine.rect and engine.batch_size == 1
    paths = tiny_model.dataset.image_paths()[:3]
    out = list(engine.predict_paths(paths, progress=False))
    assert all(p.detections is not None for p in out)
    assert {s[2:] for s in engine.stats.batch_shapes} == {(tiny_model.imgsz, tiny_model.imgsz)}
