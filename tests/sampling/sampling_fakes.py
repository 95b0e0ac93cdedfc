"""Hand-made detections for sampling tests."""

from __future__ import annotations

import numpy as np

from hitl_active.detections import Detections


def det(
    probs: list[list[float]], boxes: list[list[float]] | None = None, emb=None, size=(100, 100)
):
    """Detections from per-box class probabilities (and boxes, default spread apart)."""
    p = np.asarray(probs, dtype=np.float32).reshape(-1, 2 if not probs else len(probs[0]))
    if boxes is None:
        boxes = [[10 * i, 10 * i, 10 * i + 8, 10 * i + 8] for i in range(len(p))]
    return Detections.from_class_probs(
        np.asarray(boxes, np.float32).reshape(-1, 4),
        p,
        image_size=size,
        embedding=None if emb is None else np.asarray(emb, np.float32),
    )


def empty(num_classes: int = 2, emb=None, size=(100, 100)) -> Detections:
    return Detections.empty(
        num_classes, image_size=size, embedding=None if emb is None else np.asarray(emb, np.float32)
    )
