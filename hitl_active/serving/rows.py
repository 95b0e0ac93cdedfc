"""Pre-labels as state-store rows: the one per-batch function of the local runner and of Ray.

:func:`prediction_rows` turns a batch of image paths into rows ``(image_id, detections,
error, None)``; the local runner (:func:`hitl_active.loop.steps.prelabel`) calls it in this
process, and :class:`BatchPredictor` is the Ray Data actor
(:mod:`hitl_active.loop.ray_prelabel`) that calls it on Ray's batches. This module imports no
database, Ray or training code: a Ray worker starting an actor loads the engine and nothing
else.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from hitl_active.detections import Detections
from hitl_active.serving.engine import Engine, EngineConfig

__all__ = ["BatchPredictor", "prediction_rows"]


def prediction_rows(
    engine: Any, image_ids: Sequence[int], paths: Sequence[str]
) -> list[tuple[int, Detections | None, str | None, float | None]]:
    """One batch of pre-labels as store rows ``(image_id, detections, error, None)``.

    Each file is read and decoded here, so an unreadable image is an error row, never a
    failed batch.
    """
    preds = engine.predict_paths(list(paths), progress=False)
    return [
        (int(i), pred.detections, None if pred.error is None else str(pred.error), None)
        for i, pred in zip(image_ids, preds, strict=True)
    ]


class BatchPredictor:
    """A Ray Data actor: one engine, one batch of ``image_id``/``path`` columns at a time."""

    def __init__(self, onnx: str, model_version: str, threads: int = 1) -> None:

        config = EngineConfig(intra_op_threads=threads, infer_workers=1, decode_workers=1)
        self.engine = Engine(onnx, config, model_version=model_version)

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        rows = prediction_rows(self.engine, batch["image_id"].tolist(), batch["path"].tolist())
        detections = np.empty(len(rows), dtype=object)
        errors = np.empty(len(rows), dtype=object)
        for k, (_, det, error, _) in enumerate(rows):
            detections[k], errors[k] = det, error
        return {
            "image_id": np.array([r[0] for r in rows], np.int64),
            "detections": detections,
            "error": errors,
        }
