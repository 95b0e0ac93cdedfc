"""Annotator-hours first: what each strategy needs, at every budget, to reach the baseline,
the rare class at equal hours, and how the hours depend on the cost model.

All of it reads :class:`~hitl_active.bench.curves.Curve` objects (one per strategy, rounds
averaged over seeds). Re-pricing uses the cumulative action counts the benchmark records
per round (images, verified, fixed, relabelled, deleted, drawn), so a run priced at one
``draw_s`` can be read at another: the *same selections* re-priced. A time-aware strategy
would select differently under another price; rerun the benchmark with ``--draw-s`` for
that.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from hitl_active.bench.curves import BOXES_TOUCHED, Curve, crossing, needs_by_budget
from hitl_active.sampling.cost import CostModel

__all__ = [
    "DRAW_SECONDS",
    "hours_ratio_interval",
    "needs_by_budget",
    "per_seed_ratios",
    "rare_at_equal_hours",
    "repriced_hours",
    "sensitivity",
]

#: drawing a box: extreme clicking (7 s), the default (25.5 s), conventional drawing (~35 s)
DRAW_SECONDS = (7.0, 25.5, 35.0)
_ACTIONS = (("verified", "verify_s"), ("fixed", "fix_s"), ("relabelled", "relabel_s"),
            ("deleted", "delete_s"), ("drawn", "draw_s"))  # fmt: skip


def repriced_hours(curve: Curve, cost: CostModel) -> np.ndarray:
    """``(n_seeds, n_rounds)`` cumulative annotator hours of ``curve``'s rounds under ``cost``."""
    seconds = curve.values("labelled_images") * cost.image_s
    for column, field in _ACTIONS:
        seconds = seconds + curve.values(column) * getattr(cost, field)
    return seconds / 3600.0


def rare_at_equal_hours(curve: Curve, baseline: Curve, rare_class: str) -> dict[str, float | None]:
    """``curve``'s rare-class AP50-95 at each of the baseline's hour budgets (interpolated
    on the mean curves; None outside the hours ``curve`` covers), keyed by hours."""
    x, y = curve.mean("annotator_hours"), curve.mean(f"ap50_95:{rare_class}")
    out: dict[str, float | None] = {}
    for h in baseline.mean("annotator_hours")[1:]:
        inside = len(x) and x[0] <= h <= x[-1]
        out[f"{h:.3f}"] = round(float(np.interp(h, x, y)), 4) if inside else None
    return out


def sensitivity(
    curves: dict[str, Curve],
    baseline: str = "random",
    draw_seconds: Sequence[float] = DRAW_SECONDS,
    base_cost: CostModel | None = None,
    column: str = "map50_95",
) -> dict[str, dict[str, float | None]]:
    """Hours ratio to the baseline's final ``column`` for each strategy, with the recorded
    selections re-priced at each drawing time: ``{"draw_s=7.0": {strategy: ratio}}``."""
    base = curves.get(baseline)
    if base is None or not base.rounds:
        return {}
    target = float(base.mean(column)[-1])
    out: dict[str, dict[str, float | None]] = {}
    for draw in draw_seconds:
        cost = replace(base_cost or CostModel(), draw_s=float(draw))
        base_hours = float(np.nanmean(repriced_hours(base, cost), axis=0)[-1])
        row: dict[str, float | None] = {}
        for name, curve in curves.items():
            hours = np.nanmean(repriced_hours(curve, cost), axis=0)
            got = crossing(hours, curve.mean(column), target)
            row[name] = None if got is None else round(got / base_hours, 3)
        out[f"draw_s={draw:g}"] = row
    return out


def per_seed_ratios(
    curve: Curve, baseline: Curve, column: str = "map50_95"
) -> dict[str, dict[str, float | None]]:
    """Per seed, paired with the baseline's run of the same seed (same seed set): the labels
    and hours ``curve`` needs to reach that run's final ``column``, over what the baseline
    spent on it, and the boxes a person touched (``boxes_ratio``: the label count of a
    box-level review). ``{seed: {"labels_ratio", "hours_ratio", "boxes_ratio"}}``; None
    where ``curve`` never gets there, seeds the baseline lacks are left out."""
    out: dict[str, dict[str, float | None]] = {}
    base_seeds = list(baseline.seeds)
    columns = (column, "labelled_images", "annotator_hours", BOXES_TOUCHED)
    base_y, base_n, base_h, base_b = (baseline.values(c) for c in columns)
    y_all, n_all, h_all, b_all = (curve.values(c) for c in columns)
    for i, seed in enumerate(curve.seeds):
        if seed not in base_seeds:
            continue
        j = base_seeds.index(seed)
        target = float(base_y[j, -1])
        base_labels, base_hours = float(base_n[j, -1]), float(base_h[j, -1])
        labels = crossing(n_all[i], y_all[i], target)
        hours = crossing(h_all[i], y_all[i], target)
        boxes = crossing(b_all[i], y_all[i], target)
        base_boxes = float(base_b[j, -1])
        out[str(seed)] = {
            "target": round(target, 4),
            "labels_ratio": None if labels is None else round(labels / base_labels, 3),
            "hours_ratio": None if hours is None else round(hours / base_hours, 3),
            "boxes_ratio": None
            if boxes is None or not base_boxes
            else round(boxes / base_boxes, 3),
        }
    return out


def hours_ratio_interval(
    curve: Curve,
    baseline: Curve,
    column: str = "map50_95",
    level: float = 0.95,
    resamples: int = 2000,
    seed: int = 0,
) -> dict[str, float | int | None]:
    """How sure the mean curves' hours ratio is: a bootstrap over the seeds both ran.

    Each resample draws the paired seeds with replacement (a strategy's run and the
    baseline's run of the same seed stay together), averages both curves over the drawn
    seeds, and reads the hours ``curve`` needs to reach the baseline's final mean
    ``column`` over the hours the baseline's mean first reached it, as the summary's
    ``hours_ratio_vs_<baseline>`` reads the full set. A resample in which ``curve`` never
    gets there counts as an infinite ratio. Returns the ``level`` percentile interval
    (``high`` None when that end is "never"), the share of resamples that never get there
    and the number of paired seeds.
    """
    pairs = [(i, list(baseline.seeds).index(s)) for i, s in enumerate(curve.seeds)
             if s in baseline.seeds]  # fmt: skip
    if not pairs or not curve.rounds or not baseline.rounds:
        return {"low": None, "high": None, "never_share": None, "seeds": len(pairs)}
    mine = [curve.values(c)[[i for i, _ in pairs]] for c in ("annotator_hours", column)]
    theirs = [baseline.values(c)[[j for _, j in pairs]] for c in ("annotator_hours", column)]
    rng = np.random.default_rng(seed)
    ratios = np.empty(resamples)
    for r in range(resamples):
        pick = rng.integers(0, len(pairs), len(pairs))
        hours, y = (np.nanmean(v[pick], axis=0) for v in mine)
        base_hours, base_y = (np.nanmean(v[pick], axis=0) for v in theirs)
        got = crossing(hours, y, float(base_y[-1]))
        # over the hours the baseline's mean first reached its final value, as the summary's
        # ratio divides (not its last hours: a mean curve can dip at the end)
        spent = crossing(base_hours, base_y, float(base_y[-1]))
        ratios[r] = np.inf if got is None else got / spent
    tail = 100.0 * (1.0 - level) / 2.0
    low = np.percentile(ratios, tail, method="lower")  # no interpolation next to inf
    high = np.percentile(ratios, 100.0 - tail, method="higher")
    return {
        "low": None if np.isinf(low) else round(float(low), 3),
        "high": None if np.isinf(high) else round(float(high), 3),
        "never_share": round(float(np.isinf(ratios).mean()), 3),
        "seeds": len(pairs),
    }
