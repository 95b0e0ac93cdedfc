"""Knapsack selection: the most information a batch can hold within its annotator-seconds.

A batch is a knapsack: each image brings information (a score strategy's value, e.g.
``entropy-sum``) and costs expected annotator seconds (the cost model's estimate). Ranking
by information alone fills a batch with crowded frames that take minutes each; ranking by
information per second alone drifts to near-empty frames and misses a rare class (both
measured: README, "Active learning"). :class:`Knapsack` solves the batch as a knapsack:

- **image budget** of ``k`` images: choose the ``k`` images of most total information
  whose expected seconds stay within ``share`` of what ``k`` average images of the pool
  would take. Solved by its Lagrangian: rank by ``value - lam * seconds`` with the
  smallest exchange rate ``lam`` (information per second) whose top ``k`` fit the cap,
  found by bisection. A batch may still hold a few expensive, informative frames (a rare
  class, a crowded scene) if cheap ones pay for them.
- **seconds budget**: the classic greedy knapsack, information per second, which the
  batch walks until the seconds are spent.

The name is ``<score strategy>+knapsack`` (share 1: no dearer than an average batch) or
``+knapsack-<share>``, e.g. ``entropy-sum+knapsack-0.7``. ``entropy-sum+knapsack`` is the
default strategy.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from hitl_active.sampling.base import ScoreStrategy, SelectionContext, top_k
from hitl_active.sampling.cost import CostModel
from hitl_active.sampling.packed import PackedDetections
from hitl_active.sampling.time_aware import Priced

__all__ = ["Knapsack", "bisect_rate", "exchange_rate"]

#: images per batch assumed when a strategy is used outside :func:`select_batch`
_DEFAULT_BATCH = 10


def exchange_rate(
    value: np.ndarray, seconds: np.ndarray, k: int, cap: float, iterations: int = 60
) -> float:
    """The smallest ``lam >= 0`` whose top ``k`` of ``value - lam * seconds`` cost at most
    ``cap`` seconds (bisection); the largest rate tried when even the cheapest ``k`` do not
    fit, which then ranks by price."""
    k = min(int(k), len(value))
    if k <= 0:
        return 0.0

    def spent(lam: float) -> float:
        return float(seconds[top_k(value - lam * seconds, k)].sum())

    if spent(0.0) <= cap:
        return 0.0
    spread = float(np.ptp(value)) if len(value) else 0.0
    hi = max(spread, 1e-12) / max(float(seconds.min()), 1e-3) * 1e3
    if spent(hi) > cap:
        return hi
    return bisect_rate(spent, cap, hi, iterations)[1]


def bisect_rate(
    spent: Callable[[float], float], cap: float, hi: float, iterations: int
) -> tuple[float, float]:
    """Bisection of an exchange rate in ``[0, hi]`` whose choice's seconds ``spent(rate)``
    fall as the rate rises: ``(lo, hi)`` a hair apart, ``spent(hi) <= cap < spent(lo)``
    (given ``spent(0) > cap >= spent(hi)``)."""
    lo = 0.0
    for _ in range(iterations):
        mid = 0.5 * (lo + hi)
        if spent(mid) <= cap:
            hi = mid
        else:
            lo = mid
    return lo, hi


class Knapsack(Priced):
    """``base``'s information, chosen as a knapsack over the batch's annotator-seconds.

    Args:
        base: the score strategy giving each image's information (negative values count
            as 0).
        share: with an image budget, the batch may take at most ``share`` times the
            seconds of as many average pool images.
        cost_model, display_threshold: price images when the context has no
            ``estimated_seconds`` (a strategy used on its own).
    """

    def __init__(
        self,
        base: ScoreStrategy,
        share: float = 1.0,
        cost_model: CostModel | None = None,
        display_threshold: float = 0.25,
    ) -> None:
        if not 0.0 < share <= 10.0:
            raise ValueError(f"knapsack share must lie in (0, 10], got {share}")
        super().__init__(base, f"+knapsack-{share:g}", cost_model, display_threshold)
        self.share = float(share)

    def compute_score(self, pool: PackedDetections, context: SelectionContext) -> np.ndarray:
        value = np.maximum(self.base.scores(pool, context), 0.0)
        seconds = np.maximum(self.prices(pool, context), 1e-3)
        if pool.n_images == 0:
            return value
        if context.batch_seconds is not None:
            return value / seconds  # greedy knapsack; the batch stops when the budget is spent
        k = context.batch_images or _DEFAULT_BATCH
        cap = self.share * min(k, pool.n_images) * float(seconds.mean())
        return value - exchange_rate(value, seconds, k, cap) * seconds
