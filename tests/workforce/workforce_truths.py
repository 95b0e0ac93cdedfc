"""Helpers for the workforce tests: truth boxes: random images of 1–4 well-separated objects."""

from __future__ import annotations

import numpy as np

from hitl_active.bench.simulated_annotator import AnnotatorProfile, SimulatedAnnotator
from hitl_active.formats.core import ImageLabels

N_CLASSES = 3


def make_truths(n_images: int, seed: int, n_classes: int = N_CLASSES) -> list[ImageLabels]:
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n_images):
        w, h = (int(v) for v in rng.integers(200, 321, 2))
        boxes: list[np.ndarray] = []
        for _ in range(int(rng.integers(1, 5))):
            side = rng.uniform(0.12, 0.3) * min(w, h)
            x1, y1 = rng.uniform(0, w - side), rng.uniform(0, h - side)
            box = np.array([x1, y1, x1 + side, y1 + side])
            if all(_overlap(box, b) < 0.05 for b in boxes):
                boxes.append(box)
        classes = rng.integers(0, n_classes, len(boxes))
        out.append(ImageLabels(f"img{i:04d}", w, h, np.array(boxes).reshape(-1, 4), classes))
    return out


def _overlap(a: np.ndarray, b: np.ndarray) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    return ix * iy / ((a[2] - a[0]) * (a[3] - a[1]))


def annotator(name: str, recall: float, noise: float = 0.03, **kw) -> SimulatedAnnotator:
    label_accuracy = kw.pop("label_accuracy", 0.95)
    profile = AnnotatorProfile.uniform(N_CLASSES, recall, label_accuracy, box_noise=noise, **kw)
    return SimulatedAnnotator(name, profile)
