"""Box-level uncertainty aggregated per image, and localisation stability under a flip.

**Which distribution a box's uncertainty is measured on.** YOLO heads give independent
per-class sigmoid scores ``p_1..p_C`` that need not sum to one. Each box is turned into a
distribution over ``C + 1`` outcomes: the class scores plus an explicit *background* mass
``1 - max(p)``, normalised to sum to one::

    q = [p_1, ..., p_C, 1 - max(p)] / sum(...)

So a box split 50/50 between two classes is uncertain (``q`` near uniform), a 0.99 box is
certain, a 0.3 box of one class is uncertain about *object vs. background*, and a 0.02
candidate near the floor is confidently background. On ``q``:

- least confidence ``1 - max(q)``;
- margin ``1 - (q_(1) - q_(2))`` (largest minus second largest);
- entropy ``-sum(q log q) / log(C + 1)`` (normalised to ``[0, 1]``).

Every candidate box the engine kept (down to its confidence floor) counts, not just the
boxes shown as pre-labels. Box scores are aggregated per image by ``max``, ``mean`` or
``sum``.

**Empty frames.** An image with no candidate box at all is not certain: the model may be
missing everything in it. It receives ``empty_score`` when given, otherwise the
``empty_quantile`` quantile of the non-empty images' scores (default: the median), so
empty frames are neither skipped nor flooded into the batch.
"""

from __future__ import annotations

import logging

import numpy as np

from hitl_active.boxes import box_iou
from hitl_active.choices import Choice
from hitl_active.sampling.base import ScoreStrategy, SelectionContext
from hitl_active.sampling.packed import PackedDetections, segment_max, segment_mean, segment_sum

__all__ = [
    "Aggregation",
    "BoxUncertainty",
    "FlipStability",
    "UncertaintyStrategy",
    "box_distribution",
    "box_uncertainty",
    "fill_empty",
    "image_uncertainty",
]

logger = logging.getLogger(__name__)


class BoxUncertainty(Choice):
    """How one box's uncertainty is measured."""

    LEAST_CONFIDENCE = "least-confidence"
    MARGIN = "margin"
    ENTROPY = "entropy"


class Aggregation(Choice):
    """How box scores become an image score."""

    MAX = "max"
    MEAN = "mean"
    SUM = "sum"


def box_distribution(class_probs: np.ndarray) -> np.ndarray:
    """``(M, C + 1)`` class scores plus a background mass ``1 - max``, normalised per row."""
    p = np.clip(np.asarray(class_probs, dtype=np.float32), 0.0, 1.0)
    background = 1.0 - p.max(axis=1, keepdims=True) if p.shape[1] else np.ones((len(p), 1))
    q = np.concatenate([p, background.astype(np.float32)], axis=1)
    q /= np.maximum(q.sum(axis=1, keepdims=True), 1e-12)
    return q


def box_uncertainty(class_probs: np.ndarray, measure: BoxUncertainty | str) -> np.ndarray:
    """``(M,)`` uncertainty in ``[0, 1]`` of each box (see the module docstring)."""
    measure = BoxUncertainty.from_value(measure)
    q = box_distribution(class_probs)
    if len(q) == 0:
        return np.zeros(0, dtype=np.float32)
    if measure is BoxUncertainty.LEAST_CONFIDENCE:
        k = q.shape[1]
        return (1.0 - q.max(axis=1)) * k / (k - 1)  # rescaled so uniform q gives 1
    if measure is BoxUncertainty.MARGIN:
        top2 = np.partition(q, q.shape[1] - 2, axis=1)[:, -2:]
        return 1.0 - (top2[:, 1] - top2[:, 0])
    logq = np.log(np.maximum(q, 1e-12))
    return -(q * logq).sum(axis=1) / np.log(q.shape[1])


def fill_empty(
    scores: np.ndarray, empty: np.ndarray, empty_score: float | None, empty_quantile: float
) -> np.ndarray:
    """Give images without boxes a deliberate score (see the module docstring)."""
    if not empty.any():
        return scores
    if empty_score is not None:
        value = float(empty_score)
    elif (~empty).any():
        value = float(np.quantile(scores[~empty], empty_quantile))
    else:
        value = 1.0  # nothing predicted anywhere: every image is as unknown as can be
    scores = scores.copy()
    scores[empty] = value
    return scores


def image_uncertainty(class_probs: np.ndarray) -> float:
    """The model's uncertainty about one image, in ``[0, 1]``, as people are shown it.

    The entropy of its most doubtful candidate box (0: every box sure, 1: a box the model
    cannot tell from background or between classes), and 1 when the model found nothing
    at all: it may be missing everything there. One figure for every place that shows
    it (a task's ``uncertainty`` field, the prediction score of ``/predict``), whichever
    strategy chose the image.
    """
    probs = np.asarray(class_probs, dtype=np.float64)
    if probs.ndim != 2 or len(probs) == 0:
        return 1.0
    return float(box_uncertainty(probs, BoxUncertainty.ENTROPY).max())


class UncertaintyStrategy(ScoreStrategy):
    """Box uncertainty of all candidate boxes, aggregated per image.

    Args:
        measure: least-confidence, margin or entropy.
        aggregation: max, mean or sum over an image's boxes.
        min_confidence: ignore candidates below this score (0 keeps everything the
            engine kept).
        empty_score, empty_quantile: score for images without candidates.
    """

    def __init__(
        self,
        measure: BoxUncertainty | str = BoxUncertainty.ENTROPY,
        aggregation: Aggregation | str = Aggregation.MEAN,
        min_confidence: float = 0.0,
        empty_score: float | None = None,
        empty_quantile: float = 0.5,
    ) -> None:
        self.measure = BoxUncertainty.from_value(measure)
        self.aggregation = Aggregation.from_value(aggregation)
        if not 0.0 <= empty_quantile <= 1.0:
            raise ValueError(f"empty_quantile must lie in [0, 1], got {empty_quantile}")
        self.min_confidence = float(min_confidence)
        self.empty_score = empty_score
        self.empty_quantile = float(empty_quantile)
        self.name = f"{self.measure.value}-{self.aggregation.value}"

    def compute_score(self, pool: PackedDetections, context: SelectionContext) -> np.ndarray:
        if self.min_confidence > 0:
            pool = pool.box_mask(pool.confidence >= self.min_confidence)
        u = box_uncertainty(pool.class_probs, self.measure).astype(np.float64)
        if self.aggregation is Aggregation.MAX:
            scores = segment_max(u, pool.offsets, empty=0.0)
        elif self.aggregation is Aggregation.MEAN:
            scores = segment_mean(u, pool.offsets, empty=0.0)
        else:
            scores = segment_sum(u, pool.offsets)
        return fill_empty(scores, pool.counts == 0, self.empty_score, self.empty_quantile)


class FlipStability(ScoreStrategy):
    """Localisation instability: how much boxes move when the image is flipped horizontally.

    The pool is predicted twice, on the image and on its mirror (``context.flipped``,
    in the mirrored image's coordinates). Mirrored boxes are mapped back and each box
    above ``min_confidence`` is matched to the best same-class box of the other pass.
    Stability is the confidence-weighted mean best IoU over both directions; the score
    is ``1 - stability`` (a box with no counterpart contributes IoU 0).

    Cost: one extra inference pass over the pool (``extra_passes = 1``), plus a per-image
    Python loop of small IoU matrices (about 10 µs per image).
    """

    name = "flip-stability"
    extra_passes = 1

    def __init__(
        self,
        min_confidence: float = 0.1,
        empty_score: float | None = None,
        empty_quantile: float = 0.5,
    ) -> None:
        self.min_confidence = float(min_confidence)
        self.empty_score = empty_score
        self.empty_quantile = float(empty_quantile)

    def compute_score(self, pool: PackedDetections, context: SelectionContext) -> np.ndarray:
        flipped = context.flipped
        if flipped is None or flipped.n_images != pool.n_images:
            raise ValueError(
                "flip-stability needs context.flipped: predictions on horizontally flipped "
                f"images for all {pool.n_images} pool images (run the engine with flip=True)"
            )
        if pool.image_sizes is None:
            raise ValueError("flip-stability needs image sizes in the pool's detections")
        a_pool = pool.box_mask(pool.confidence >= self.min_confidence)
        b_pool = flipped.box_mask(flipped.confidence >= self.min_confidence)
        widths = pool.image_sizes[:, 0].astype(np.float32)
        scores = np.zeros(pool.n_images)
        empty = np.zeros(pool.n_images, dtype=bool)
        for i in range(pool.n_images):
            sa, ea = a_pool.offsets[i], a_pool.offsets[i + 1]
            sb, eb = b_pool.offsets[i], b_pool.offsets[i + 1]
            if ea == sa and eb == sb:
                empty[i] = True
                continue
            a = a_pool.xyxy[sa:ea]
            b = b_pool.xyxy[sb:eb].copy()
            b[:, [0, 2]] = widths[i] - b[:, [2, 0]]  # un-mirror x1, x2
            same = a_pool.class_id[sa:ea, None] == b_pool.class_id[None, sb:eb]
            iou = box_iou(a, b) * same if len(a) and len(b) else np.zeros((len(a), len(b)))
            best_a = iou.max(axis=1) if len(b) else np.zeros(len(a))
            best_b = iou.max(axis=0) if len(a) else np.zeros(len(b))
            wa, wb = a_pool.confidence[sa:ea], b_pool.confidence[sb:eb]
            stability = (best_a @ wa + best_b @ wb) / max(float(wa.sum() + wb.sum()), 1e-9)
            scores[i] = 1.0 - stability
        return fill_empty(scores, empty, self.empty_score, self.empty_quantile)
