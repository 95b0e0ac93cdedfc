"""Class balance: favour images whose predicted classes are rare in the labelled set.

A class's rarity is ``w_c = 1 - (n_c + 1) / (n_max + 1)`` from the labelled box counts
``n_c``: the most frequent class gets 0, a class with no labels at all gets nearly 1.
An image's rarity is ``max`` over its candidate boxes of ``max_c p_bc * w_c`` - how
confidently the model thinks a rare object is in it.

Used alone it ranks by rarity; wrapped around a score strategy it multiplies that
strategy's score by ``1 + alpha * rarity`` (modAL's product combination), so it boosts
without overruling the base strategy.
"""

from __future__ import annotations

import numpy as np

from hitl_active.sampling.base import ScoreStrategy, SelectionContext
from hitl_active.sampling.packed import PackedDetections, segment_max

__all__ = ["ClassBalance", "class_rarity", "image_rarity"]


def class_rarity(labelled_class_counts: np.ndarray) -> np.ndarray:
    """``(C,)`` rarity weights in ``[0, 1)`` (see the module docstring)."""
    n = np.asarray(labelled_class_counts, dtype=np.float64).reshape(-1)
    if np.any(n < 0):
        raise ValueError(f"labelled class counts must be non-negative, got {n.tolist()}")
    if len(n) == 0:
        return n
    return 1.0 - (n + 1.0) / (n.max() + 1.0)


def image_rarity(
    pool: PackedDetections, labelled_class_counts: np.ndarray, min_confidence: float = 0.1
) -> np.ndarray:
    """``(n_images,)`` how confidently each image holds a rare class; 0 for empty images."""
    counts = np.asarray(labelled_class_counts).reshape(-1)
    if len(counts) != pool.num_classes:
        raise ValueError(
            f"labelled_class_counts has {len(counts)} entries, the model has "
            f"{pool.num_classes} classes; give one count per class"
        )
    if min_confidence > 0:
        pool = pool.box_mask(pool.confidence >= min_confidence)
    w = class_rarity(counts).astype(np.float32)
    per_box = (pool.class_probs * w[None, :]).max(axis=1) if pool.n_boxes else np.zeros(0)
    return segment_max(per_box.astype(np.float64), pool.offsets, empty=0.0)


class ClassBalance(ScoreStrategy):
    """Boost ``base`` by class rarity, or rank by rarity alone when ``base`` is ``None``.

    Needs ``context.labelled_class_counts``; without it (nothing labelled yet) the
    boost is 0 and the base strategy's order is unchanged.
    """

    def __init__(
        self, base: ScoreStrategy | None = None, alpha: float = 1.0, min_confidence: float = 0.1
    ) -> None:
        if alpha < 0:
            raise ValueError(f"alpha must be non-negative, got {alpha}")
        self.base = base
        self.alpha = float(alpha)
        self.min_confidence = float(min_confidence)
        self.name = "class-balance" if base is None else f"{base.name}+class-balance"
        self.extra_passes = 0 if base is None else base.extra_passes
        self.needs_embeddings = base is not None and base.needs_embeddings

    def compute_score(self, pool: PackedDetections, context: SelectionContext) -> np.ndarray:
        if context.labelled_class_counts is None:
            rarity = np.zeros(pool.n_images)
        else:
            rarity = image_rarity(pool, context.labelled_class_counts, self.min_confidence)
        if self.base is None:
            return rarity
        return self.base.scores(pool, context) * (1.0 + self.alpha * rarity)
