"""Learning curves of a simulated benchmark: the curves, their crossings and the PNG.

Input is the simulation CSV (one row per strategy, seed and round, see
:mod:`hitl_active.bench.simulate`). For each strategy the rounds are averaged over seeds
(labelled images, annotator hours, mAP); the summary says how many labels and hours each
strategy needs to reach a target mAP, by linear interpolation between rounds. The summary
built from them is :mod:`hitl_active.bench.summary`.
"""

from __future__ import annotations

import csv
import logging
import math
from collections import defaultdict
from pathlib import Path

import numpy as np

__all__ = [
    "BOXES_TOUCHED",
    "Curve",
    "crossing",
    "needs_by_budget",
    "plot_curves",
    "ratios_by_budget",
    "read_curves",
]

logger = logging.getLogger(__name__)

REFERENCE = "full-data"
BOXES_TOUCHED = "boxes_touched"
TOUCH_COLUMNS = ("verified", "fixed", "relabelled", "deleted", "drawn")


class Curve:
    """One strategy's rounds: ``(n_seeds, n_rounds)`` arrays of a metric and the x axes."""

    def __init__(self, strategy: str, rows: list[dict[str, str]]) -> None:
        self.strategy = strategy
        seeds = sorted({int(r["seed"]) for r in rows})
        rounds = sorted({int(r["round"]) for r in rows})
        # keep rounds every seed has finished, so the mean is over the same seeds
        by_key = {(int(r["seed"]), int(r["round"])): r for r in rows}
        rounds = [k for k in rounds if all((s, k) in by_key for s in seeds)]
        self.seeds, self.rounds = seeds, rounds
        self._rows = [[by_key[(s, k)] for k in rounds] for s in seeds]

    def values(self, column: str) -> np.ndarray:
        """``(n_seeds, n_rounds)`` float values of ``column`` (NaN where empty).

        ``boxes_touched`` is derived: the boxes a person verified, fixed, relabelled,
        deleted or drew, cumulative (the label count of a box-level review).
        """
        if column == BOXES_TOUCHED:
            return sum(self.values(c) for c in TOUCH_COLUMNS)
        return np.array(
            [[float(r.get(column) or "nan") for r in seed_rows] for seed_rows in self._rows],
            dtype=np.float64,
        ).reshape(len(self.seeds), len(self.rounds))

    def mean(self, column: str) -> np.ndarray:
        v = self.values(column)
        return np.nanmean(v, axis=0) if v.size else np.zeros(0)

    def std(self, column: str) -> np.ndarray:
        v = self.values(column)
        return np.nanstd(v, axis=0) if v.size else np.zeros(0)


def read_curves(csv_path: str | Path) -> tuple[dict[str, Curve], dict[str, float]]:
    """Per-strategy curves and the full-data reference row (``{}`` when absent)."""
    with open(csv_path, newline="") as f:
        rows = list(csv.DictReader(f))
    grouped: dict[str, list[dict[str, str]]] = defaultdict(list)
    for row in rows:
        grouped[row["strategy"]].append(row)
    reference: dict[str, float] = {}
    if REFERENCE in grouped:
        ref = Curve(REFERENCE, grouped.pop(REFERENCE))
        reference = {
            k: float(np.nanmean(ref.values(k)))
            for k in ref._rows[0][0]
            if k.startswith(("map", "ap"))
        }
    return {name: Curve(name, r) for name, r in grouped.items()}, reference


def crossing(x: np.ndarray, y: np.ndarray, target: float) -> float | None:
    """The first ``x`` where ``y`` reaches ``target``, linearly interpolated; None if never."""
    for i in range(len(y)):
        if y[i] >= target:
            if i == 0:
                return float(x[0])
            x0, x1, y0, y1 = x[i - 1], x[i], y[i - 1], y[i]
            return float(x0 + (target - y0) * (x1 - x0) / (y1 - y0))
    return None


def needs_by_budget(
    curve: Curve, baseline: Curve, column: str = "map50_95"
) -> dict[int, dict[str, float | None]]:
    """At each of the baseline's labelled-image budgets after its first round: the
    baseline's mean ``column`` there (the target), and the labels and hours ``curve`` needs
    to reach it (mean curves, linear interpolation; None when it never does), with their
    ratios to what the baseline spent."""
    budgets = baseline.mean("labelled_images")
    base_hours, targets = baseline.mean("annotator_hours"), baseline.mean(column)
    x_img, x_h, y = curve.mean("labelled_images"), curve.mean("annotator_hours"), curve.mean(column)
    out: dict[int, dict[str, float | None]] = {}
    for k in range(1, len(budgets)):
        target = float(targets[k])
        labels, hours = crossing(x_img, y, target), crossing(x_h, y, target)
        out[round(float(budgets[k]))] = {
            "target": round(target, 4),
            "labels": None if labels is None else round(labels, 1),
            "hours": None if hours is None else round(hours, 4),
            "label_ratio": None if labels is None else round(labels / float(budgets[k]), 3),
            "hours_ratio": None if hours is None else round(hours / float(base_hours[k]), 3),
        }
    return out


def ratios_by_budget(
    curve: Curve, baseline: Curve, cost: str = "labelled_images", column: str = "map50_95"
) -> dict[int, float | None]:
    """At every labelled-image budget of ``baseline`` after its first round: the ``cost``
    (``labelled_images`` or ``annotator_hours``) ``curve`` needs to reach the baseline's
    mean ``column`` there, over what the baseline spent on it (see :func:`needs_by_budget`).

    A single ratio at the baseline's last budget depends on where the benchmark stopped;
    this shows how the saving grows or shrinks with the budget. None where ``curve`` never
    gets there.
    """
    key = "label_ratio" if cost == "labelled_images" else "hours_ratio"
    return {b: v[key] for b, v in needs_by_budget(curve, baseline, column).items()}


def plot_curves(
    curves: dict[str, Curve],
    reference: dict[str, float],
    out_png: str | Path,
    title: str = "",
    fraction: float = 0.95,
    rare_class: str | None = None,
) -> Path:
    """mAP50-95 vs annotator hours (first) and vs labelled images, mean ± std over seeds
    (shaded; the hours' spread as horizontal bars); with ``rare_class``, a third panel of
    that class's AP50-95 vs annotator hours."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rare_column = f"ap50_95:{rare_class}"
    rare = rare_class is not None and all(rare_column in c._rows[0][0] for c in curves.values())
    panels = 3 if rare else 2
    fig, axes = plt.subplots(1, panels, figsize=(5.5 * panels, 4.2))
    series = [("annotator_hours", "map50_95"), ("labelled_images", "map50_95")]
    if rare:
        series.append(("annotator_hours", rare_column))
    for name, curve in sorted(curves.items()):
        style = {"color": "k", "lw": 2.2} if name == "random" else {}
        label = f"{name} (n={len(curve.seeds)})"
        for ax, (x_column, y_column) in zip(axes, series, strict=True):
            x, y, s = curve.mean(x_column), curve.mean(y_column), curve.std(y_column)
            (line,) = ax.plot(x, y, marker="o", ms=3, label=label, **style)
            ax.fill_between(x, y - s, y + s, alpha=0.1, color=line.get_color())
            if x_column == "annotator_hours":
                ax.errorbar(x, y, xerr=curve.std(x_column), fmt="none", alpha=0.3,
                            color=line.get_color())  # fmt: skip
    full = reference.get("map50_95")
    for ax, xlabel in zip(axes, ("annotator hours (cost model)", "labelled images"), strict=False):
        if full is not None and not math.isnan(full):
            ax.axhline(full, color="k", lw=0.8, ls=":", label="full data")
            ax.axhline(
                fraction * full, color="grey", lw=0.8, ls="--", label=f"{fraction:.0%} of full"
            )
        ax.set_xlabel(xlabel)
    axes[1].sharey(axes[0])
    axes[0].set_ylabel("mAP50-95 on the test split")
    axes[0].legend(fontsize=8, loc="upper left")
    if rare:
        full_rare = reference.get(rare_column)
        if full_rare is not None and not math.isnan(full_rare):
            axes[2].axhline(full_rare, color="k", lw=0.8, ls=":", label="full data")
        axes[2].set_xlabel("annotator hours (cost model)")
        axes[2].set_ylabel(f"rare class '{rare_class}' AP50-95")
    for ax in axes:
        ax.grid(alpha=0.3)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    out_png = Path(out_png)
    out_png.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out_png, dpi=110)
    plt.close(fig)
    return out_png
