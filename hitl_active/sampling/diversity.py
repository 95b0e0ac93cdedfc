"""Diversity: k-center greedy (core-set) on image embeddings, and the uncertainty+diversity hybrid.

Core-set selection (Sener & Savarese, ICLR 2018, "Active Learning for Convolutional Neural
Networks: A Core-Set Approach") picks, one at a time, the pool image farthest from
everything already labelled or picked. The greedy 2-approximation keeps one ``min_dist``
array over the pool and updates it with one matrix-vector product per pick, so selecting
``k`` of ``n`` images in ``D`` dimensions costs ``O(k n D)``.

The hybrid first keeps the ``pool_factor * k`` most uncertain images, then runs k-center
greedy inside that shortlist: uncertain *and* different from each other and from the
labelled set.
"""

from __future__ import annotations

import logging

import numpy as np

from hitl_active.sampling.base import ScoreStrategy, SelectionContext, Strategy, top_k
from hitl_active.sampling.packed import PackedDetections

__all__ = ["CoreSet", "Hybrid", "k_center_greedy", "normalise_rows"]

logger = logging.getLogger(__name__)


def normalise_rows(x: np.ndarray, mean: np.ndarray | None = None) -> np.ndarray:
    """Rows minus ``mean`` (when given), scaled to unit L2 norm (zero rows stay zero).

    Pooled activations of a CNN are mostly positive, so raw embeddings of any two images
    have a cosine similarity near 1; subtracting the pool's mean embedding first makes
    angles reflect what differs between images.
    """
    x = np.asarray(x, dtype=np.float32)
    if mean is not None:
        x = x - np.asarray(mean, dtype=np.float32)[None, :]
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.maximum(norms, 1e-12)


def _min_sq_dist(x: np.ndarray, centres: np.ndarray, chunk: int = 4096) -> np.ndarray:
    """For each row of ``x``, the squared distance to its nearest row of ``centres``."""
    out = np.full(len(x), np.inf, dtype=np.float32)
    if len(centres) == 0:
        return out
    x_sq = np.einsum("ij,ij->i", x, x)
    for s in range(0, len(centres), chunk):
        c = centres[s : s + chunk]
        c_sq = np.einsum("ij,ij->i", c, c)
        d = x_sq[:, None] + c_sq[None, :] - 2.0 * (x @ c.T)
        np.minimum(out, d.min(axis=1), out=out)
    return np.maximum(out, 0.0)


def k_center_greedy(
    embeddings: np.ndarray,
    k: int,
    centres: np.ndarray | None = None,
    rng: np.random.Generator | None = None,
) -> np.ndarray:
    """Greedy k-center: indices of ``k`` rows of ``embeddings``, in pick order.

    Args:
        embeddings: ``(n, D)`` pool embeddings.
        k: how many to pick (capped at ``n``).
        centres: ``(L, D)`` already-covered points (the labelled set), or ``None``.
        rng: used only to choose the first point when there are no centres.
    """
    x = np.ascontiguousarray(embeddings, dtype=np.float32)
    n = len(x)
    k = max(0, min(int(k), n))
    picked = np.empty(k, dtype=np.int64)
    if k == 0:
        return picked
    x_sq = np.einsum("ij,ij->i", x, x)
    if centres is not None and len(centres):
        min_d = _min_sq_dist(x, np.asarray(centres, dtype=np.float32))
        start = 0
    else:
        first = int(rng.integers(n)) if rng is not None else 0
        picked[0] = first
        min_d = np.maximum(x_sq + x_sq[first] - 2.0 * (x @ x[first]), 0.0)
        min_d[first] = -1.0  # picked: even when every distance is 0 it is not picked again
        start = 1
    for j in range(start, k):
        i = int(np.argmax(min_d))
        picked[j] = i
        d = x_sq + x_sq[i] - 2.0 * (x @ x[i])
        np.minimum(min_d, d, out=min_d)
        min_d[i] = -1.0  # never again
    return picked


def _embeddings(pool: PackedDetections, name: str) -> np.ndarray:
    if pool.embeddings is None:
        raise ValueError(
            f"{name} needs image embeddings; the pool's detections have none. "
            "Run the engine with embeddings enabled, or choose an uncertainty strategy."
        )
    return pool.embeddings


def _in_pool_frame(
    rows: np.ndarray, centres: np.ndarray | None, pool: np.ndarray, normalise: bool
) -> tuple[np.ndarray, np.ndarray | None]:
    """``rows`` and the labelled ``centres`` centred on the pool's mean and unit-normed (when
    ``normalise``), so distances between them are measured in one frame."""
    if not normalise:
        return rows, centres
    mean = pool.mean(axis=0)
    return normalise_rows(rows, mean), None if centres is None else normalise_rows(centres, mean)


class CoreSet(Strategy):
    """k-center greedy on image embeddings (by default centred on the pool mean, unit norm)."""

    name = "coreset"
    needs_embeddings = True

    def __init__(self, normalise: bool = True) -> None:
        self.normalise = normalise

    def rank(
        self,
        pool: PackedDetections,
        context: SelectionContext,
        k: int,
        scores: np.ndarray | None = None,
    ) -> np.ndarray:
        x = _embeddings(pool, self.name)
        x, centres = _in_pool_frame(x, context.labelled_embeddings, x, self.normalise)
        return k_center_greedy(x, k, centres, context.rng)


class Hybrid(Strategy):
    """Top ``pool_factor * k`` by an uncertainty score, then k-center greedy among them.

    Args:
        uncertainty: the score strategy that builds the shortlist (default entropy-mean).
        pool_factor: shortlist size as a multiple of the requested ``k``.
        normalise: L2-normalise embeddings before measuring distances.
    """

    name = "hybrid"
    needs_embeddings = True

    def __init__(
        self, uncertainty: ScoreStrategy, pool_factor: float = 4.0, normalise: bool = True
    ) -> None:
        if pool_factor < 1:
            raise ValueError(f"pool_factor must be at least 1, got {pool_factor}")
        self.uncertainty = uncertainty
        self.pool_factor = float(pool_factor)
        self.normalise = normalise
        self.extra_passes = uncertainty.extra_passes

    def scores(self, pool: PackedDetections, context: SelectionContext) -> np.ndarray:
        return self.uncertainty.scores(pool, context)

    def rank(
        self,
        pool: PackedDetections,
        context: SelectionContext,
        k: int,
        scores: np.ndarray | None = None,
    ) -> np.ndarray:
        x = _embeddings(pool, self.name)
        k = min(int(k), pool.n_images)
        if scores is None:
            scores = self.scores(pool, context)
        shortlist = top_k(scores, int(np.ceil(self.pool_factor * k)), context.rng)
        sub, centres = _in_pool_frame(x[shortlist], context.labelled_embeddings, x, self.normalise)
        # Without centres, k_center_greedy (rng=None) starts from row 0: the most uncertain.
        return shortlist[k_center_greedy(sub, k, centres, None)]
