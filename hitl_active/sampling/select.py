"""Choosing one batch: a strategy's ranking, a budget, and near-duplicate removal.

:func:`select_batch` asks the strategy for a ranked list, walks it, drops near-duplicates
of images already in the batch, and stops when the budget is spent: a number of images,
or estimated annotator seconds from :class:`~hitl_active.sampling.cost.CostModel`. In
seconds mode it stops at the first image that no longer fits, so the batch keeps the
strategy's order (a cheaper image further down is not pulled forward).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np

from hitl_active.choices import Choice
from hitl_active.sampling.base import SelectionContext, Strategy
from hitl_active.sampling.cost import CostModel
from hitl_active.sampling.dedup import DuplicateFilter
from hitl_active.sampling.packed import PackedDetections

__all__ = ["Budget", "BudgetUnit", "Selection", "select_batch"]

logger = logging.getLogger(__name__)


class BudgetUnit(Choice):
    IMAGES = "images"
    SECONDS = "seconds"


@dataclass(frozen=True)
class Budget:
    """How much one batch may take: ``amount`` images, or ``amount`` annotator seconds."""

    amount: float
    unit: BudgetUnit = BudgetUnit.IMAGES

    def __post_init__(self) -> None:
        object.__setattr__(self, "unit", BudgetUnit.from_value(self.unit))
        if self.amount < 0:
            raise ValueError(f"budget must be non-negative, got {self.amount} {self.unit.value}")

    @classmethod
    def images(cls, n: int) -> Budget:
        return cls(float(n), BudgetUnit.IMAGES)

    @classmethod
    def seconds(cls, s: float) -> Budget:
        return cls(float(s), BudgetUnit.SECONDS)

    @classmethod
    def hours(cls, h: float) -> Budget:
        return cls(float(h) * 3600.0, BudgetUnit.SECONDS)


@dataclass
class Selection:
    """One selected batch, in the order it should be labelled.

    Attributes:
        indices: pool indices, best first.
        scores: the strategy's score of each selected image (NaN for pure set strategies).
        estimated_seconds: expected annotator seconds of each selected image.
        dropped_duplicates: pool indices skipped as near-duplicates.
        strategy: the strategy's name; seconds: wall time the selection took.
    """

    indices: np.ndarray
    scores: np.ndarray
    estimated_seconds: np.ndarray
    dropped_duplicates: list[int] = field(default_factory=list)
    strategy: str = ""
    seconds: float = 0.0

    def __len__(self) -> int:
        return len(self.indices)

    @property
    def total_estimated_seconds(self) -> float:
        return float(self.estimated_seconds.sum())


def select_batch(
    strategy: Strategy,
    pool: PackedDetections,
    budget: Budget | int,
    context: SelectionContext,
    cost_model: CostModel | None = None,
    dedup_threshold: float | None = 0.8,
    display_threshold: float = 0.25,
    dedup_box_conf: float = 0.4,
    fill_from_duplicates: bool = False,
    fingerprint: Callable[[int], np.ndarray | None] | None = None,
) -> Selection:
    """Select a batch from ``pool`` with ``strategy`` within ``budget``.

    Args:
        budget: a :class:`Budget`, or an int number of images.
        cost_model: prices images for seconds budgets (defaults to :class:`CostModel`).
        dedup_threshold: centred cosine similarity of embeddings at or above which two
            images with matching shown boxes count as the same frame (see
            :mod:`~hitl_active.sampling.dedup`); ``None`` disables the filter (also
            disabled when the pool has no embeddings).
        display_threshold: pre-label threshold used by the cost estimate.
        dedup_box_conf: boxes at or above this confidence must match for two images to be
            duplicates.
        fill_from_duplicates: with an image budget, when dedup leaves the batch short, fill
            it with the dropped images in rank order (an early model's embeddings can make
            everything look alike) rather than label fewer images.
        fingerprint: pool index -> image fingerprint
            (:func:`~hitl_active.data.fingerprint.image_fingerprint`); when given, duplicates
            are found by image content (which holds with a weak model) instead of embeddings.
    """
    start = time.perf_counter()
    if isinstance(budget, (int, np.integer)):
        budget = Budget.images(int(budget))
    cost_model = cost_model or CostModel()
    n = pool.n_images
    if context.estimated_seconds is None:
        est = cost_model.estimate_costs(pool, display_threshold)
    else:  # prices given (e.g. fitted elsewhere): the budget spends the same prices
        est = np.asarray(context.estimated_seconds, dtype=np.float64)
    if budget.unit is BudgetUnit.IMAGES:
        want = min(int(budget.amount), n)
    else:
        cheapest = float(est.min()) if n else 1.0
        want = min(n, int(budget.amount // max(cheapest, 1e-9)) + 1)
    dedup = None
    if dedup_threshold is not None and fingerprint is not None:
        dedup = DuplicateFilter(None, capacity=max(want, 1), fingerprint=fingerprint)
    elif dedup_threshold is not None and pool.embeddings is not None:
        shown = pool.box_mask(pool.confidence >= dedup_box_conf)
        dedup = DuplicateFilter(
            pool.embeddings, dedup_threshold, capacity=max(want, 1), boxes=shown
        )
    if context.estimated_seconds is None:  # time-aware strategies price with the same model
        context = replace(context, estimated_seconds=est)
    if budget.unit is BudgetUnit.IMAGES:  # a knapsack strategy fills this batch
        context = replace(context, batch_images=want, batch_seconds=None)
    else:
        context = replace(context, batch_images=None, batch_seconds=budget.amount)
    scores = strategy.scores(pool, context)
    chosen: list[int] = []
    considered: set[int] = set()
    spent = 0.0
    k = want if dedup is None else min(n, int(want * 1.5) + 8)
    done = want == 0
    while not done:
        ranked = strategy.rank(pool, context, k, scores=scores)
        for i in ranked.tolist():
            if i in considered:
                continue
            if budget.unit is BudgetUnit.IMAGES and len(chosen) >= want:
                done = True
                break
            if budget.unit is BudgetUnit.SECONDS and spent + est[i] > budget.amount:
                done = True  # budget exhausted: stop, keep the ranking's order
                break
            considered.add(i)
            if dedup is not None and not dedup.accept(i):
                continue
            chosen.append(i)
            spent += float(est[i])
        if (budget.unit is BudgetUnit.IMAGES and len(chosen) >= want) or k >= n:
            done = True
        k = min(n, 2 * k)
    dropped = [] if dedup is None else list(dedup.dropped)
    if fill_from_duplicates and budget.unit is BudgetUnit.IMAGES and len(chosen) < want:
        refill = dropped[: want - len(chosen)]
        logger.info("dedup left %d images; filled with %d dropped ones", len(chosen), len(refill))
        chosen += refill
        dropped = dropped[len(refill) :]
    idx = np.asarray(chosen, dtype=np.int64)
    sel_scores = np.full(len(idx), np.nan) if scores is None else scores[idx]
    sel = Selection(
        indices=idx,
        scores=sel_scores,
        estimated_seconds=est[idx],
        dropped_duplicates=dropped,
        strategy=strategy.name,
        seconds=time.perf_counter() - start,
    )
    logger.debug(
        "%s selected %d of %d images (%.0f s estimated, %d duplicates dropped) in %.2f s",
        strategy.name,
        len(sel),
        n,
        sel.total_estimated_seconds,
        len(sel.dropped_duplicates),
        sel.seconds,
    )
    return sel
