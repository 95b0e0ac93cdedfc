"""Strategy base classes: the base owns ranking and top-k, subclasses write ``compute_score``.

Modelled on baal's heuristics: a strategy turns a pool of predictions into one score per
image (higher = more worth labelling), and the base class turns scores into a ranking. Set
strategies (k-center greedy) override :meth:`Strategy.rank` instead, because their order is
built step by step rather than sorted from independent scores.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

import numpy as np

from hitl_active.sampling.packed import PackedDetections

__all__ = ["RandomStrategy", "ScoreStrategy", "SelectionContext", "Strategy", "top_k"]


@dataclass
class SelectionContext:
    """What a strategy may know beyond the pool's predictions.

    Attributes:
        rng: seeded generator, used for the random baseline and to break ties.
        labelled_class_counts: ``(C,)`` boxes per class already labelled (class balance).
        labelled_embeddings: ``(L, D)`` embeddings of labelled images (core-set centres).
        flipped: the pool's predictions on horizontally flipped images, in the *flipped*
            image's coordinates (flip stability). Costs a second inference pass.
        estimated_seconds: ``(n_images,)`` expected annotator seconds of each pool image
            (:meth:`~hitl_active.sampling.cost.CostModel.estimate_costs`); filled in by
            :func:`~hitl_active.sampling.select.select_batch` for time-aware strategies.
        batch_images, batch_seconds: the batch being chosen (one of them), set by
            :func:`~hitl_active.sampling.select.select_batch` for knapsack strategies.
    """

    rng: np.random.Generator
    labelled_class_counts: np.ndarray | None = None
    labelled_embeddings: np.ndarray | None = None
    flipped: PackedDetections | None = None
    estimated_seconds: np.ndarray | None = None
    batch_images: int | None = None
    batch_seconds: float | None = None


def top_k(scores: np.ndarray, k: int, rng: np.random.Generator | None = None) -> np.ndarray:
    """Indices of the ``k`` highest scores, best first; ties broken at random when ``rng``.

    ``NaN`` scores rank last. Uses ``argpartition`` so the cost is O(n + k log k).
    """
    scores = np.asarray(scores, dtype=np.float64)
    n = len(scores)
    k = max(0, min(int(k), n))
    if k == 0:
        return np.zeros(0, dtype=np.int64)
    key = np.where(np.isnan(scores), -np.inf, scores)
    if rng is not None:
        # A tiny random tie-break below the resolution of any real score difference.
        order = rng.permutation(n)
        key_perm = key[order]
        idx = _top_k_exact(key_perm, k, tie=np.arange(n))
        return order[idx]
    return _top_k_exact(key, k, tie=np.arange(n))


def _top_k_exact(key: np.ndarray, k: int, tie: np.ndarray) -> np.ndarray:
    n = len(key)
    if k < n:
        part = np.argpartition(-key, k - 1)[:k]
        kth = key[part].min()
        # Everything strictly better than the k-th value is in; fill ties by position.
        better = np.flatnonzero(key > kth)
        equal = np.flatnonzero(key == kth)
        cand = np.concatenate([better, equal[: k - len(better)]])
    else:
        cand = np.arange(n)
    return cand[np.lexsort((tie[cand], -key[cand]))].astype(np.int64)


class Strategy(ABC):
    """Orders a pool of images by how much labelling them is expected to help."""

    #: registry name, set by subclasses or the registry
    name: str = "strategy"
    #: extra inference passes the strategy needs beyond the normal one (flip TTA: 1)
    extra_passes: int = 0
    #: whether the strategy needs image embeddings
    needs_embeddings: bool = False

    @abstractmethod
    def rank(
        self,
        pool: PackedDetections,
        context: SelectionContext,
        k: int,
        scores: np.ndarray | None = None,
    ) -> np.ndarray:
        """The ``k`` best images' indices, best first.

        ``scores`` passes in the result of :meth:`scores` when the caller already has it.
        """

    def scores(self, pool: PackedDetections, context: SelectionContext) -> np.ndarray | None:
        """Per-image scores when the strategy has them (``None`` for pure set strategies)."""
        return None

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"


class ScoreStrategy(Strategy):
    """A strategy defined by one score per image; subclasses write only :meth:`compute_score`."""

    @abstractmethod
    def compute_score(self, pool: PackedDetections, context: SelectionContext) -> np.ndarray:
        """``(n_images,)`` float scores, higher = label first."""

    def scores(self, pool: PackedDetections, context: SelectionContext) -> np.ndarray:
        scores = np.asarray(self.compute_score(pool, context), dtype=np.float64)
        if scores.shape != (pool.n_images,):
            raise ValueError(
                f"{self.name}: compute_score returned shape {scores.shape}, "
                f"expected ({pool.n_images},)"
            )
        return scores

    def rank(
        self,
        pool: PackedDetections,
        context: SelectionContext,
        k: int,
        scores: np.ndarray | None = None,
    ) -> np.ndarray:
        if scores is None:
            scores = self.scores(pool, context)
        return top_k(scores, k, context.rng)


class RandomStrategy(ScoreStrategy):
    """Uniformly random order: the baseline every other strategy is compared to."""

    name = "random"

    def compute_score(self, pool: PackedDetections, context: SelectionContext) -> np.ndarray:
        return context.rng.random(pool.n_images)
