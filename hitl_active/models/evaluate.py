"""Detection quality: COCO-style mAP at IoU 0.50:0.95 and at 0.50.

Follows the COCO evaluation protocol (``pycocotools`` ``COCOeval``) for one area range:

- per image and class, predictions sorted by score, at most ``max_dets`` kept;
- at each IoU threshold ``0.50, 0.55, ..., 0.95`` every prediction, best score first,
  takes the unmatched ground-truth box of its class with the highest IoU at or above the
  threshold (true positive), otherwise it is a false positive;
- precision is made monotone (running maximum from the right) and sampled at 101 recall
  points ``0, 0.01, ..., 1`` (zero beyond the highest recall reached); AP is the mean;
- a class with no ground-truth box in the evaluated images is left out of the mean (its
  AP is ``NaN`` in the per-class tables, ``-1`` in ``COCOeval``); a class with ground truth
  but no prediction has AP 0.

``COCOeval``'s numerical conventions are kept too, so the results equal ``pycocotools``'
(``stats[0]``, ``stats[1]`` and per-class means of ``eval["precision"]``) to within 1e-15,
the rounding of different orders of summation (``tests/models/test_evaluate_parity.py``):

- the thresholds are ``np.linspace(0.5, 0.95, 10)``, whose ninth value is
  ``0.8999999999999999`` rather than ``0.9``;
- equal scores keep their order (stable sort): images in input order, then boxes in
  input order;
- when several unmatched ground-truth boxes share the highest IoU with a prediction, the
  later one (in input order) is taken.

Two deliberate differences:

- precision is ``tp / (tp + fp)``, where ``COCOeval`` divides by ``tp + fp +
  np.spacing(1)``. Only a denominator of 1 is affected (``1 + 2**-52`` is the one such
  sum that does not round back), so a best-scored true positive has precision 1 rather
  than ``1 - 2**-52``: perfect predictions score exactly 1.0 here and
  ``0.9999999999999998`` in ``COCOeval``, and no AP differs by more than ``2**-52``;
- an inverted prediction (``x2 < x1`` or ``y2 < y1``, which detectors do not produce) is
  a false positive here; ``COCOeval`` ignores one with a negative area ``w * h`` (one
  side inverted) and counts one with both sides inverted as a false positive.

Differences from Ultralytics' ``val``: Ultralytics integrates the interpolated curve with
the trapezoidal rule instead of averaging 101 points, matches by IoU rather than by
score order, and by default evaluates at ``conf=0.001``; its numbers usually differ from
COCO's by about 0.01 mAP. There are no crowd boxes or area ranges here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

import numpy as np

from hitl_active.boxes import box_iou
from hitl_active.detections import Detections
from hitl_active.formats.core import ImageLabels

__all__ = ["IOU_THRESHOLDS", "EvalResult", "average_precision", "evaluate"]

IOU_THRESHOLDS = np.linspace(0.5, 0.95, 10)
_RECALL_POINTS = np.linspace(0.0, 1.0, 101)


@dataclass
class EvalResult:
    """mAP over classes with ground truth, and per-class AP (``NaN`` where no ground truth)."""

    map50_95: float
    map50: float
    per_class_ap50_95: dict[str, float] = field(default_factory=dict)
    per_class_ap50: dict[str, float] = field(default_factory=dict)
    n_images: int = 0
    n_truth: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)


def average_precision(scores: np.ndarray, tp: np.ndarray, n_truth: int) -> float:
    """COCO 101-point interpolated AP from per-prediction scores and true-positive flags."""
    if n_truth == 0:
        return float("nan")
    if len(scores) == 0:
        return 0.0
    order = np.argsort(-np.asarray(scores), kind="mergesort")
    tp = np.asarray(tp, dtype=bool)[order]
    tps = np.cumsum(tp)
    fps = np.cumsum(~tp)
    recall = tps / n_truth
    precision = tps / np.maximum(tps + fps, np.finfo(np.float64).eps)
    precision = np.maximum.accumulate(precision[::-1])[::-1]
    idx = np.searchsorted(recall, _RECALL_POINTS, side="left")
    sampled = np.where(idx < len(precision), precision[np.minimum(idx, len(precision) - 1)], 0.0)
    return float(sampled.mean())


def _match_image(
    pred_xyxy: np.ndarray, truth_xyxy: np.ndarray, thresholds: np.ndarray
) -> np.ndarray:
    """``(T, D)`` true-positive flags of score-sorted predictions against one image's truth."""
    d, g = len(pred_xyxy), len(truth_xyxy)
    tp = np.zeros((len(thresholds), d), dtype=bool)
    if d == 0 or g == 0:
        return tp
    iou = box_iou(pred_xyxy, truth_xyxy)
    taken = np.zeros((len(thresholds), g), dtype=bool)
    limit = np.minimum(thresholds, 1 - 1e-10)[:, None]
    rows = np.arange(len(thresholds))
    for j in range(d):
        ok = (iou[j][None, :] >= limit) & ~taken
        cand = np.where(ok, iou[j][None, :], -1.0)
        best = g - 1 - cand[:, ::-1].argmax(axis=1)  # the last of equal IoUs, as COCOeval
        hit = cand[rows, best] >= 0
        tp[hit, j] = True
        taken[rows[hit], best[hit]] = True
    return tp


def evaluate(
    predictions: Sequence[Detections],
    truths: Sequence[ImageLabels],
    num_classes: int,
    class_names: Sequence[str] | None = None,
    max_dets: int = 100,
    min_score: float = 0.0,
) -> EvalResult:
    """COCO-style mAP of ``predictions`` against ``truths`` (same order, one per image).

    Args:
        num_classes: classes of the model; class ids must lie in ``[0, num_classes)``.
        class_names: names for the per-class tables (default ``"0", "1", ...``).
        max_dets: keep at most this many predictions per image and class, best first.
        min_score: ignore predictions below this confidence.
    """
    if len(predictions) != len(truths):
        raise ValueError(
            f"evaluate needs one prediction per ground-truth image, got {len(predictions)} "
            f"predictions for {len(truths)} images"
        )
    names = [str(i) for i in range(num_classes)] if class_names is None else list(class_names)
    if len(names) != num_classes:
        raise ValueError(f"class_names has {len(names)} names for {num_classes} classes")
    t = len(IOU_THRESHOLDS)
    scores: list[list[np.ndarray]] = [[] for _ in range(num_classes)]
    flags: list[list[np.ndarray]] = [[] for _ in range(num_classes)]
    n_truth = np.zeros(num_classes, dtype=np.int64)
    for pred, truth in zip(predictions, truths, strict=True):
        if len(truth) and (truth.class_id.min() < 0 or truth.class_id.max() >= num_classes):
            raise ValueError(
                f"ground truth for {truth.image!r} has class ids outside [0, {num_classes})"
            )
        n_truth += np.bincount(truth.class_id, minlength=num_classes)
        keep = pred.confidence >= min_score
        for c in np.union1d(pred.class_id[keep], truth.class_id).tolist():
            sel = np.flatnonzero(keep & (pred.class_id == c))
            sel = sel[np.argsort(-pred.confidence[sel], kind="mergesort")][:max_dets]
            if len(sel) == 0:
                continue
            tp = _match_image(pred.xyxy[sel], truth.xyxy[truth.class_id == c], IOU_THRESHOLDS)
            scores[c].append(pred.confidence[sel])
            flags[c].append(tp)
    ap = np.full((num_classes, t), np.nan)
    for c in range(num_classes):
        s = np.concatenate(scores[c]) if scores[c] else np.zeros(0)
        f = np.concatenate(flags[c], axis=1) if flags[c] else np.zeros((t, 0), bool)
        for k in range(t):
            ap[c, k] = average_precision(s, f[k], int(n_truth[c]))
    present = n_truth > 0
    ap50_95 = ap.mean(axis=1)
    return EvalResult(
        map50_95=float(ap50_95[present].mean()) if present.any() else float("nan"),
        map50=float(ap[present, 0].mean()) if present.any() else float("nan"),
        per_class_ap50_95={names[c]: float(ap50_95[c]) for c in range(num_classes)},
        per_class_ap50={names[c]: float(ap[c, 0]) for c in range(num_classes)},
        n_images=len(truths),
        n_truth={names[c]: int(n_truth[c]) for c in range(num_classes)},
    )
