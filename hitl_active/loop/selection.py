"""The loop's choice of a batch, from a pool's predictions and what is already labelled.

:func:`choose_batch` is the one selection path: the loop's round
(:func:`hitl_active.loop.steps.select_images`, which reads the pool from the workspace's
store) and the simulated benchmark (:mod:`hitl_active.bench.simulate`, which holds its pool
in memory) both call it with a :class:`~hitl_active.workspace.config.LoopConfig`, so the
benchmark measures the selection users run: the same strategy, budget, cost model,
random stream, duplicate filter (image fingerprints) and top-up from duplicates.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from hitl_active.data.fingerprint import image_fingerprint
from hitl_active.detections import Detections
from hitl_active.sampling import Budget, SelectionContext, get_strategy, select_batch
from hitl_active.sampling.cost import CostModel
from hitl_active.sampling.packed import PackedDetections
from hitl_active.sampling.review import plan_review, whole_image_costs
from hitl_active.workspace.config import LoopConfig

__all__ = ["PoolState", "choose_batch", "review_budget"]

logger = logging.getLogger(__name__)

#: what reviewing an image whole is worth in a box review: the per-box term of the items'
#: information (box entropy), summed over all the image's candidates
REVIEW_WHOLE_VALUE = "entropy-sum"


@dataclass
class PoolState:
    """What a selection sees, wherever it is kept.

    Attributes:
        pool: the model's predictions of the candidates, one image each, in order.
        paths: each candidate's image file (fingerprints and the mirrored pass read it).
        labelled_class_counts: ``(C,)`` labelled boxes per class.
        labelled_embeddings: returns the labelled images' embeddings (``(L, D)`` or
            ``None``); called only when the strategy needs them, since it may predict.
        flip: the model's detections on mirrored copies of the given paths (the second
            pass of flip-stability); called only when the strategy needs it.
    """

    pool: PackedDetections
    paths: Sequence[str]
    labelled_class_counts: np.ndarray
    labelled_embeddings: Callable[[], np.ndarray | None] | None = None
    flip: Callable[[Sequence[str]], list[Detections]] | None = None

    def __post_init__(self) -> None:
        if len(self.paths) != self.pool.n_images:
            raise ValueError(
                f"{len(self.paths)} paths for {self.pool.n_images} pool images; "
                "give one path per candidate, in the pool's order"
            )


def review_budget(cfg: LoopConfig, pool: PackedDetections, cost_model: CostModel) -> float:
    """A box review's seconds: ``budget_seconds`` when set, else what ``round_size``
    average pool images would take to review whole at box review's prices
    (:func:`~hitl_active.sampling.review.whole_image_costs`): the expected seconds of a round
    of image review, as the default knapsack caps them."""
    if cfg.budget_seconds:
        return float(cfg.budget_seconds)
    if pool.n_images == 0:
        return 0.0
    per_image = whole_image_costs(pool, cfg.review_settings(), cost_model, cfg.conf_threshold)
    return float(min(cfg.round_size, pool.n_images) * per_image.mean())


def choose_batch(
    cfg: LoopConfig,
    round_id: int,
    state: PoolState,
    cost_model: CostModel | None = None,
    cold_start: bool = False,
) -> Any:
    """Select ``cfg``'s batch from ``state``; a :class:`~hitl_active.sampling.Selection`
    whose indices point into ``state.pool``.

    With ``cfg.review == "boxes"`` the batch is a
    :class:`~hitl_active.sampling.review.ReviewPlan` instead (images and the items within
    them, :func:`~hitl_active.sampling.review.plan_review`), within :func:`review_budget`.

    ``cfg`` gives the strategy, the budget (``budget_seconds`` when set, else
    ``batch_size`` images), the display threshold of the cost estimate
    (``conf_threshold``) and, with ``round_id``, the random stream. ``cold_start``: no
    model yet, the choice is random.
    """

    rng = np.random.default_rng([cfg.seed, round_id])
    paths = list(state.paths)  # frames of one burst: one in a batch
    cost_model = cost_model or CostModel()
    if cfg.review == "boxes" and not cold_start:  # an image reviewed whole is worth its entropy-sum
        context = SelectionContext(rng=rng, labelled_class_counts=state.labelled_class_counts)
        whole = get_strategy(REVIEW_WHOLE_VALUE).scores(state.pool, context)
        return plan_review(
            state.pool, review_budget(cfg, state.pool, cost_model), cfg.review_settings(),
            cost_model, rng, fingerprint=lambda i: image_fingerprint(paths[i]),
            full_value=whole, display_threshold=cfg.conf_threshold,
        )  # fmt: skip
    strategy = get_strategy("random" if cold_start else cfg.strategy)
    budget = (
        Budget.seconds(cfg.budget_seconds) if cfg.budget_seconds else Budget.images(cfg.round_size)
    )
    context = SelectionContext(rng=rng, labelled_class_counts=state.labelled_class_counts)
    if not cold_start and strategy.needs_embeddings and state.labelled_embeddings is not None:
        context.labelled_embeddings = state.labelled_embeddings()  # diversity around them
    if not cold_start and strategy.extra_passes and state.flip is not None:
        flipped = state.flip(state.paths)  # flip-stability's mirrored pass
        context.flipped = PackedDetections.from_detections(flipped, state.pool.num_classes)
    return select_batch(
        strategy, state.pool, budget, context, cost_model,
        display_threshold=cfg.conf_threshold, fill_from_duplicates=True,
        fingerprint=lambda i: image_fingerprint(paths[i]),
    )  # fmt: skip
