"""Fitting the cost model to the people who do the work.

Each recorded annotation gives its time (Label Studio's ``lead_time``) and what the
annotator changed against the pre-label (a :class:`~hitl_active.labelstudio.BoxDiff`:
kept, moved, relabelled, deleted, added boxes). Time is modelled as

    lead_time = image_s + verify_s * kept + fix_s * moved + relabel_s * relabelled
                + delete_s * deleted + draw_s * added

and the six per-action seconds are found by non-negative least squares (weighted by the
inverse of the predicted time, as the spread grows with the work), with intervals
from a bootstrap over annotations. Lead times far off the fit (an annotator who left the
tab open) are dropped once, by a median-absolute-deviation rule on the relative residual,
before the final fit.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from hitl_active.sampling.cost import CostModel

__all__ = ["ACTIONS", "MIN_ANNOTATIONS", "CostFit", "counts_from_diff", "fit_costs"]

logger = logging.getLogger(__name__)

#: per-action fields of :class:`CostModel`, in the column order of the counts matrix
ACTIONS = ("image_s", "verify_s", "fix_s", "relabel_s", "delete_s", "draw_s")
_DIFF_KEYS = ("kept", "moved", "relabelled", "deleted", "added")
#: fewer recorded annotations than this and the loop keeps the published defaults
MIN_ANNOTATIONS = 30


def counts_from_diff(diff: Mapping[str, Any] | None, n_boxes: int) -> np.ndarray:
    """``(6,)`` action counts of one annotation: 1 image, then kept, moved, relabelled,
    deleted and added boxes from its diff (``BoxDiff.to_dict()``); without a diff (no
    pre-label shown) every one of its ``n_boxes`` boxes was drawn."""
    if diff is None:
        return np.array([1, 0, 0, 0, 0, n_boxes], np.float64)
    counts = diff.get("counts") or {k: len(diff.get(k) or []) for k in _DIFF_KEYS}
    return np.array([1, *(float(counts.get(k, 0)) for k in _DIFF_KEYS)], np.float64)


@dataclass(frozen=True)
class CostFit:
    """Fitted seconds per action with a bootstrap interval (``low``, ``high``)."""

    seconds: dict[str, float]
    low: dict[str, float]
    high: dict[str, float]
    n_annotations: int
    n_outliers: int = 0
    level: float = 0.9

    def cost_model(self, base: CostModel | None = None) -> CostModel:
        """``base`` (default :class:`CostModel`) with the fitted seconds."""
        return replace(base or CostModel(), **self.seconds)

    def to_dict(self) -> dict[str, Any]:
        return {
            "seconds": self.seconds, "low": self.low, "high": self.high,
            "n_annotations": self.n_annotations, "n_outliers": self.n_outliers,
            "level": self.level,
        }  # fmt: skip

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CostFit:
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})

    def format(self) -> str:
        """One line per action: seconds and interval."""
        pct = round(self.level * 100)
        lines = [f"{self.n_annotations} annotations ({self.n_outliers} outliers left out)"]
        for a in ACTIONS:
            lines.append(
                f"{a:<10} {self.seconds[a]:7.2f} s   {pct}% interval "
                f"[{self.low[a]:.2f}, {self.high[a]:.2f}]"
            )
        return "\n".join(lines)


def _nnls(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Non-negative least squares, reweighted once by the first fit's prediction: a
    person's time spreads in proportion to the work, so long annotations weigh less."""
    from scipy.optimize import nnls

    # an action no annotation did cannot be fitted: it stays at 0 and the caller keeps its
    # default, so a workspace with no relabels does not claim relabelling is free
    used = a.any(axis=0)
    x = np.zeros(a.shape[1])
    if used.any():
        x[used] = nnls(a[:, used], b)[0]
        pred = a @ x
        w = 1.0 / np.maximum(pred, max(float(np.median(pred)) * 0.05, 1e-6))
        x[used] = nnls(a[:, used] * w[:, None], b * w)[0]
    return x


def fit_costs(
    counts: np.ndarray,
    seconds: np.ndarray,
    rng: np.random.Generator | None = None,
    n_boot: int = 200,
    level: float = 0.9,
    default: CostModel | None = None,
) -> CostFit:
    """Fit the per-action seconds from ``counts`` (``(n, 6)``, see :func:`counts_from_diff`)
    and the annotations' ``seconds`` (``(n,)``).

    Actions no annotation performed keep ``default``'s seconds (interval = that value).
    ``n_boot`` bootstrap resamples give the ``level`` interval (0: no interval).
    """
    a = np.asarray(counts, np.float64)
    b = np.asarray(seconds, np.float64)
    if a.ndim != 2 or a.shape[1] != len(ACTIONS) or a.shape[0] != b.shape[0]:
        raise ValueError(
            f"need counts of shape (n, {len(ACTIONS)}) and n seconds, got {a.shape} and {b.shape}"
        )
    keep = np.isfinite(b) & (b >= 0)
    a, b = a[keep], b[keep]
    if len(b) < len(ACTIONS):
        raise ValueError(
            f"{len(b)} annotations with a time are too few to fit {len(ACTIONS)} action "
            f"times; record at least {MIN_ANNOTATIONS}"
        )
    x = _nnls(a, b)
    pred = a @ x
    resid = (b - pred) / np.maximum(pred, 1e-6)  # relative: the spread grows with the work
    mad = float(np.median(np.abs(resid - np.median(resid)))) or 1e-9
    inlier = np.abs(resid - np.median(resid)) <= 5 * 1.4826 * mad
    if inlier.sum() >= len(ACTIONS) and not inlier.all():
        a, b = a[inlier], b[inlier]
        x = _nnls(a, b)
    used = a.any(axis=0)
    base = default or CostModel()
    defaults = np.array([getattr(base, name) for name in ACTIONS])
    x = np.where(used, x, defaults)
    lo, hi = x.copy(), x.copy()
    if n_boot > 0:
        rng = rng or np.random.default_rng(0)
        boots = np.empty((n_boot, len(ACTIONS)))
        for i in range(n_boot):
            pick = rng.integers(0, len(b), len(b))
            boots[i] = np.where(used, _nnls(a[pick], b[pick]), defaults)
        tail = (1 - level) / 2 * 100
        lo, hi = np.percentile(boots, [tail, 100 - tail], axis=0)
    fit = CostFit(
        seconds={k: round(float(v), 3) for k, v in zip(ACTIONS, x, strict=True)},
        low={k: round(float(v), 3) for k, v in zip(ACTIONS, lo, strict=True)},
        high={k: round(float(v), 3) for k, v in zip(ACTIONS, hi, strict=True)},
        n_annotations=len(b),
        n_outliers=int(keep.sum() - len(b)),
        level=level,
    )
    logger.info("fitted annotator seconds from %d annotations: %s", len(b), fit.seconds)
    return fit
