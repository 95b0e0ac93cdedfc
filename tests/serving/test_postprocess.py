"""YOLO decoding and class-aware NMS against a plain reference implementation."""

from __future__ import annotations

import numpy as np
import pytest

from hitl_active.serving.postprocess import decode_yolo, nms_per_class
from hitl_active.serving.preprocess import letterbox_params


def _iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    lt = np.maximum(a[:2], b[:, :2])
    rb = np.minimum(a[2:], b[:, 2:])
    inter = np.prod(np.clip(rb - lt, 0, None), axis=1)
    area = lambda x: (x[..., 2] - x[..., 0]) * (x[..., 3] - x[..., 1])  # noqa: E731
    return inter / (area(a) + area(b) - inter)


def _reference_nms(xyxy, scores, cls, iou):
    order = np.argsort(-scores, kind="stable")
    keep: list[int] = []
    for i in order:
        same = [k for k in keep if cls[k] == cls[i]]
        if not same or _iou(xyxy[i], xyxy[same]).max() <= iou:
            keep.append(int(i))
    return keep


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_nms_matches_reference(seed) -> None:
    rng = np.random.default_rng(seed)
    xy = rng.uniform(0, 200, (300, 2)).astype(np.float32)
    wh = rng.uniform(5, 80, (300, 2)).astype(np.float32)
    xyxy = np.hstack([xy, xy + wh])
    scores = rng.uniform(0, 1, 300).astype(np.float32)
    cls = rng.integers(0, 3, 300)
    keep = nms_per_class(xyxy, scores, cls, iou=0.5, max_det=1000)
    assert keep.tolist() == _reference_nms(xyxy, scores, cls, 0.5)
    assert nms_per_class(xyxy, scores, cls, iou=0.5, max_det=7).tolist() == keep[:7].tolist()


def _raw(boxes_cxcywh, probs):
    """(1, 4 + C, A) head output from per-anchor boxes and class scores."""
    return np.concatenate([np.asarray(boxes_cxcywh).T, np.asarray(probs).T])[None].astype(
        np.float32
    )


def test_decode_keeps_floor_and_class_probs() -> None:
    info = letterbox_params(64, 64, (64, 64))  # identity geometry
    raw = _raw(
        [[20, 20, 10, 10], [21, 20, 10, 10], [21, 20, 10, 10], [50, 50, 8, 8]],
        [[0.9, 0.1], [0.6, 0.2], [0.1, 0.5], [0.004, 0.003]],
    )
    (det,) = decode_yolo(raw, [info], conf_floor=0.01, iou=0.7, max_det=300)
    # anchor 1 is suppressed by anchor 0 (same class), anchor 2 survives (other class),
    # anchor 3 is below the floor
    assert det.class_id.tolist() == [0, 1]
    np.testing.assert_allclose(det.confidence, [0.9, 0.5])
    np.testing.assert_allclose(det.class_probs, [[0.9, 0.1], [0.1, 0.5]])
    np.testing.assert_allclose(det.xyxy[0], [15, 15, 25, 25])
    assert det.image_size == (64, 64)


def test_decode_empty_and_embedding() -> None:
    info = letterbox_params(64, 32, (64, 64))
    raw = _raw([[5, 5, 2, 2]], [[0.001, 0.002, 0.0]])
    (det,) = decode_yolo(raw, [info], 0.01, 0.7, 300, embeddings=np.ones((1, 4)), model_version="v")
    assert len(det) == 0 and det.num_classes == 3
    assert det.embedding.shape == (4,) and det.model_version == "v"


def test_decode_rejects_wrong_batch() -> None:
    with pytest.raises(ValueError, match="expected YOLO output"):
        decode_yolo(
            np.zeros((2, 6, 10), np.float32), [letterbox_params(8, 8, (32, 32))], 0.01, 0.7, 300
        )
