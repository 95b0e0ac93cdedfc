"""Time-aware selection: expected information per expected annotator-second.

An annotator's time, not the number of images, is what a round spends. A crowded frame
full of uncertain boxes scores high on ``entropy-sum`` but costs minutes to correct, while
a frame whose pre-labels are nearly right is verified in seconds (1.6 s a box against
25.5 s to draw a missed one; :mod:`hitl_active.sampling.cost`). :class:`PerSecond`
divides a strategy's score by the image's expected seconds raised to ``beta``:

    score = info / seconds ** beta

``beta = 1`` is information per second, which alone drifts to near-empty frames (cheap,
one uncertain box) and loses a rare class; ``beta < 1`` keeps part of the pull towards
rich frames, and wrapping a class-balance boost (``entropy-sum+class-balance+per-second``)
keeps frames that may hold a rare class. The expected seconds come from the same cost
model the budget uses (``context.estimated_seconds``, filled in by
:func:`~hitl_active.sampling.select.select_batch`), fitted to the workspace's annotators
when there are enough of them (:mod:`hitl_active.loop.costs`).
"""

from __future__ import annotations

import numpy as np

from hitl_active.sampling.base import ScoreStrategy, SelectionContext
from hitl_active.sampling.cost import CostModel
from hitl_active.sampling.packed import PackedDetections

__all__ = ["PerSecond", "Priced"]


class Priced(ScoreStrategy):
    """A score strategy that weighs ``base``'s information against each image's expected
    annotator-seconds (:class:`PerSecond`, :class:`~hitl_active.sampling.knapsack.Knapsack`).

    Args:
        base: the score strategy giving the information of each image.
        suffix: appended to ``base``'s name.
        cost_model, display_threshold: price images when the context has no
            ``estimated_seconds`` (a strategy used on its own).
    """

    def __init__(
        self,
        base: ScoreStrategy,
        suffix: str,
        cost_model: CostModel | None = None,
        display_threshold: float = 0.25,
    ) -> None:
        self.base = base
        self.cost_model = cost_model or CostModel()
        self.display_threshold = float(display_threshold)
        self.name = f"{base.name}{suffix}"
        self.extra_passes = base.extra_passes
        self.needs_embeddings = base.needs_embeddings

    def prices(self, pool: PackedDetections, context: SelectionContext) -> np.ndarray:
        """``(n_images,)`` expected seconds: the context's (those the budget spends), else
        the strategy's own cost model's."""
        seconds = context.estimated_seconds
        if seconds is None:
            seconds = self.cost_model.estimate_costs(pool, self.display_threshold)
        seconds = np.asarray(seconds, np.float64)
        if seconds.shape != (pool.n_images,):
            raise ValueError(
                f"estimated_seconds has shape {seconds.shape}, expected ({pool.n_images},): "
                "one price per pool image"
            )
        return seconds


class PerSecond(Priced):
    """``base``'s score per expected annotator-second (to the power ``beta``).

    Args:
        base: the score strategy giving the information of each image (non-negative).
        beta: how strongly time counts: 0 leaves ``base`` as it is, 1 is score per second.
        cost_model, display_threshold: price images when the context has no
            ``estimated_seconds`` (a strategy used on its own).
    """

    def __init__(
        self,
        base: ScoreStrategy,
        beta: float = 0.5,
        cost_model: CostModel | None = None,
        display_threshold: float = 0.25,
    ) -> None:
        if not 0.0 <= beta <= 2.0:
            raise ValueError(f"beta must lie in [0, 2], got {beta}")
        super().__init__(base, "+per-second", cost_model, display_threshold)
        self.beta = float(beta)

    def compute_score(self, pool: PackedDetections, context: SelectionContext) -> np.ndarray:
        info = self.base.scores(pool, context)
        return info / np.maximum(self.prices(pool, context), 1e-3) ** self.beta
