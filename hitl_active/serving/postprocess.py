"""YOLO head decoding and class-aware NMS (numpy + OpenCV, no torch).

The exported YOLO detection head outputs ``(B, 4 + C, A)``: ``cx, cy, w, h`` in input pixels
followed by one sigmoid score per class for each of ``A`` anchors. Per image we keep the
anchors whose best class score exceeds ``conf_floor``, run NMS per class (like Ultralytics'
default ``agnostic=False``) and keep the ``max_det`` best boxes. ``class_probs`` are the raw
per-class sigmoid scores of each kept box (independent, not soft-maxed: they need not sum
to one), ``confidence`` is the best of them.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from hitl_active.detections import Detections
from hitl_active.serving.preprocess import LetterboxInfo

__all__ = ["MAX_NMS", "decode_yolo", "nms_per_class"]

# Like Ultralytics: at most this many candidates enter NMS (highest scores first).
MAX_NMS = 30000


def nms_per_class(
    xyxy: np.ndarray, scores: np.ndarray, class_id: np.ndarray, iou: float, max_det: int
) -> np.ndarray:
    """Indices of the boxes kept by class-aware greedy NMS, by descending score.

    A box is dropped when its IoU with a higher-scored kept box of the same class exceeds
    ``iou``. Uses OpenCV's batched NMS (C++).
    """
    if len(xyxy) == 0:
        return np.zeros(0, np.int64)
    xywh = xyxy.astype(np.float32, copy=True)
    xywh[:, 2:] -= xywh[:, :2]
    keep = cv2.dnn.NMSBoxesBatched(
        xywh, scores.astype(np.float32), class_id.astype(np.int32), 0.0, float(iou)
    )
    keep = np.asarray(keep, dtype=np.int64).reshape(-1)
    # OpenCV returns indices grouped by score; make the order explicit and stable.
    keep = keep[np.argsort(-scores[keep], kind="stable")]
    return keep[:max_det]


def decode_yolo(
    output: np.ndarray,
    infos: Sequence[LetterboxInfo],
    conf_floor: float,
    iou: float,
    max_det: int,
    embeddings: np.ndarray | None = None,
    model_version: str | None = None,
) -> list[Detections]:
    """Turn one batch of raw YOLO output into :class:`Detections` in original pixels.

    Args:
        output: ``(B, 4 + C, A)`` head output for a batch of ``B`` letterboxed images.
        infos: the letterbox geometry of each image of the batch.
        embeddings: optional ``(B, D)`` image embeddings.
    """
    if output.ndim != 3 or output.shape[0] != len(infos) or output.shape[1] < 5:
        raise ValueError(
            f"expected YOLO output of shape (B={len(infos)}, 4 + classes, anchors), "
            f"got {output.shape}"
        )
    num_classes = output.shape[1] - 4
    results: list[Detections] = []
    for i, info in enumerate(infos):
        pred = output[i]  # (4 + C, A)
        probs_all = pred[4:]
        best = probs_all.max(axis=0)
        candidates = np.flatnonzero(best > conf_floor)
        emb = None if embeddings is None else embeddings[i]
        if len(candidates) == 0:
            results.append(
                Detections.empty(num_classes, info.orig_size, emb, model_version=model_version)
            )
            continue
        if len(candidates) > MAX_NMS:
            candidates = candidates[np.argsort(-best[candidates], kind="stable")[:MAX_NMS]]
        boxes = pred[:4, candidates].T  # (n, 4) cx, cy, w, h
        probs = probs_all[:, candidates].T  # (n, C)
        scores = best[candidates]
        class_id = probs.argmax(axis=1)
        xyxy = np.empty_like(boxes)
        half = boxes[:, 2:] / 2
        xyxy[:, :2] = boxes[:, :2] - half
        xyxy[:, 2:] = boxes[:, :2] + half
        keep = nms_per_class(xyxy, scores, class_id, iou, max_det)
        results.append(
            Detections(
                xyxy=info.to_original(xyxy[keep]),
                confidence=scores[keep],
                class_id=class_id[keep],
                class_probs=probs[keep],
                image_size=info.orig_size,
                embedding=emb,
                model_version=model_version,
            )
        )
    return results
