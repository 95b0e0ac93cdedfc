"""Estimates with intervals, and "not enough data" below a minimum count.

Rates (recall, precision, label accuracy, automation bias) get the equal-tailed interval of
their Beta posterior under a uniform prior, Beta(1 + successes, 1 + failures). Means of
continuous figures (IoU) get a Student-t interval. Box noise (a standard deviation of
Gaussian corner errors) gets the chi-square interval of a normal scale.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from scipy import stats

__all__ = ["Estimate", "beta_rate", "mean_estimate", "noise_estimate", "rates_differ"]

MIN_COUNT = 20
LEVEL = 0.9


@dataclass(frozen=True)
class Estimate:
    """A figure with its interval; ``value is None`` (with ``reason``) when data is too thin.

    ``n`` is the number of items the figure rests on (objects, boxes or coordinates).
    """

    value: float | None
    low: float | None
    high: float | None
    n: int
    level: float = LEVEL
    reason: str = ""

    @property
    def known(self) -> bool:
        return self.value is not None

    def covers(self, x: float) -> bool:
        return self.known and self.low <= x <= self.high  # type: ignore[operator]

    def to_dict(self) -> dict:
        return asdict(self)


def _too_few(n: int, min_count: int, level: float, what: str) -> Estimate:
    return Estimate(
        None, None, None, n, level, f"not enough data: {n} {what}, need at least {min_count}"
    )


def beta_rate(
    successes: int, n: int, min_count: int = MIN_COUNT, level: float = LEVEL, what: str = "items"
) -> Estimate:
    """Posterior mean and equal-tailed interval of a rate from ``successes`` of ``n``."""
    if not 0 <= successes <= n:
        raise ValueError(f"need 0 <= successes <= n, got {successes} of {n}")
    if n < max(min_count, 1):
        return _too_few(n, min_count, level, what)
    a, b = 1 + successes, 1 + n - successes
    lo, hi = stats.beta.ppf([(1 - level) / 2, (1 + level) / 2], a, b)
    return Estimate(successes / n, float(lo), float(hi), n, level)


def mean_estimate(
    values: np.ndarray, min_count: int = MIN_COUNT, level: float = LEVEL, what: str = "items"
) -> Estimate:
    """Mean with a Student-t interval."""
    v = np.asarray(values, dtype=np.float64).ravel()
    if v.size < max(min_count, 2):
        return _too_few(v.size, min_count, level, what)
    m, se = float(v.mean()), float(v.std(ddof=1) / np.sqrt(v.size))
    half = float(stats.t.ppf((1 + level) / 2, v.size - 1)) * se
    return Estimate(m, m - half, m + half, int(v.size), level)


def noise_estimate(
    deviations: np.ndarray, min_count: int = MIN_COUNT, level: float = LEVEL, what: str = "boxes"
) -> Estimate:
    """Standard deviation of zero-mean Gaussian ``deviations`` (rows: boxes, columns: corners).

    ``min_count`` counts rows (boxes); the chi-square interval uses every coordinate.
    """
    d = np.asarray(deviations, dtype=np.float64)
    rows = len(d) if d.ndim else 0  # no matched box at all is "not enough data", not an error
    if rows < max(min_count, 1) or d.size == 0:
        return _too_few(rows, min_count, level, what)
    d = d.reshape(rows, -1)
    dof = d.size
    ss = float(np.sum(d**2))
    sigma = float(np.sqrt(ss / dof))
    lo = float(np.sqrt(ss / stats.chi2.ppf((1 + level) / 2, dof)))
    hi = float(np.sqrt(ss / stats.chi2.ppf((1 - level) / 2, dof)))
    return Estimate(sigma, lo, hi, len(d), level)


def rates_differ(
    successes_a: int, n_a: int, successes_b: int, n_b: int, level: float = 0.99
) -> bool:
    """Whether two rates differ: the two-sided ``level`` interval of their difference
    (normal approximation of the two Beta posteriors) excludes zero."""
    if min(n_a, n_b) == 0:
        return False
    pa, pb = (1 + successes_a) / (2 + n_a), (1 + successes_b) / (2 + n_b)
    var = pa * (1 - pa) / (3 + n_a) + pb * (1 - pb) / (3 + n_b)
    z = float(stats.norm.ppf((1 + level) / 2))
    return abs(pa - pb) > z * np.sqrt(var)
