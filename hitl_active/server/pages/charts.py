"""The pages' charts, drawn with matplotlib's Agg backend into base64 PNG text.

Each function returns the base64 text of a PNG, which the templates inline. Nothing is
written to disk but the skill matrix, which :mod:`hitl_active.reports.team_plot` draws to a file
(a temporary one here) and the pages inline.
"""

from __future__ import annotations

import base64
import io
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from hitl_active.reports.practice_plot import progress_png
from hitl_active.reports.team_plot import skill_matrix_png

__all__ = [
    "hours_chart",
    "mastery_heat",
    "matrix_chart",
    "progress_chart",
    "skill_chart",
    "skill_figure",
    "trend_chart",
]

PARTS = (
    ("tasks", "tasks", "#3c8dbc"),
    ("practice", "practice", "#8e6bbf"),
    ("skipped", "skipped", "#d9822b"),
    ("drafts", "drafts", "#b0b7c3"),
    ("between", "between tasks", "#7fb77e"),
)


def _plt() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _encode(fig: Any) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    _plt().close(fig)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def skill_chart(per_class: Mapping[str, Mapping[str, Mapping | None]], title: str) -> str:
    """Recall and precision per class as points with their intervals (``n/a`` where data
    is thin). ``per_class[class][figure]`` is an :class:`~.stats.Estimate` dict or ``None``."""
    return _encode(skill_figure(per_class, title))


def skill_figure(per_class: Mapping[str, Mapping[str, Mapping | None]], title: str) -> Any:
    """The figure :func:`skill_chart` encodes (rows stay inside the axes, below the title,
    whether or not any estimate is drawn)."""
    plt = _plt()
    names = list(per_class)
    fig, ax = plt.subplots(figsize=(6.4, 0.9 + 0.55 * len(names)), constrained_layout=True)
    for fig_name, colour, dy in (("recall", "#3c8dbc", -0.13), ("precision", "#d9822b", 0.13)):
        for i, c in enumerate(names):
            e = per_class[c].get(fig_name)
            y = i + dy
            if e is None or e.get("value") is None:
                ax.text(
                    0.01, y, f"{fig_name}: not enough data", va="center", fontsize=8, color="#777"
                )
                continue
            ax.errorbar(
                e["value"],
                y,
                xerr=[[max(0.0, e["value"] - e["low"])], [max(0.0, e["high"] - e["value"])]],
                fmt="o",
                color=colour,
                capsize=3,
                label=fig_name,
            )
    ax.set_yticks(range(len(names)), names)
    ax.set_xlim(0, 1)
    ax.set_ylim(len(names) - 0.5, -0.5)  # first class on top; fixed: texts do not autoscale
    ax.set_xlabel("share (dot: estimate; bar: 90% interval)")
    handles, labels = ax.get_legend_handles_labels()
    if handles:
        seen = dict(zip(labels, handles, strict=True))
        ax.legend(
            seen.values(),
            seen.keys(),
            loc="upper center",
            bbox_to_anchor=(0.5, -0.2),
            ncols=2,
            fontsize=8,
        )
    ax.grid(axis="x", alpha=0.3)
    ax.set_title(title, fontsize=10)
    return fig


def trend_chart(points: Sequence[tuple[str, Mapping | None]], title: str) -> str:
    """A figure per round (label, estimate dict) with its interval as a band."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6.4, 2.6), constrained_layout=True)
    xs = [i for i, (_, e) in enumerate(points) if e and e.get("value") is not None]
    if xs:
        est = [points[i][1] for i in xs]
        ax.plot(xs, [e["value"] for e in est], "o-", color="#3c8dbc")  # type: ignore[index]
        ax.fill_between(
            xs,
            [e["low"] for e in est],
            [e["high"] for e in est],  # type: ignore[index]
            color="#3c8dbc",
            alpha=0.2,
        )
    for i, (_, e) in enumerate(points):
        if not (e and e.get("value") is not None):
            ax.text(i, 0.5, "not enough\ndata", ha="center", fontsize=7, color="#777")
    ax.set_xticks(range(len(points)), [label for label, _ in points])
    ax.set_xlim(-0.5, len(points) - 0.5)
    ax.set_ylim(0, 1)
    ax.set_ylabel("recall")
    ax.grid(alpha=0.3)
    ax.set_title(title, fontsize=10)
    return _encode(fig)


def progress_chart(state: Any, title: str) -> str:
    """A trainee's mastery per skill over paid practice minutes
    (:func:`hitl_active.reports.practice_plot.progress_png`)."""
    with tempfile.TemporaryDirectory(prefix="hitl-page-") as tmp:
        png = progress_png(state, Path(tmp) / "progress.png", title)
        return base64.b64encode(png.read_bytes()).decode("ascii")


def mastery_heat(
    trainees: Sequence[str],
    skills: Sequence[str],
    values: Sequence[Sequence[float | None]],
    threshold: float,
) -> str:
    """Trainees × skills mastery, each cell with its value (ready cells marked ✓)."""
    plt = _plt()
    import matplotlib

    grid = np.array([[np.nan if v is None else v for v in row] for row in values], dtype=float)
    fig, ax = plt.subplots(
        figsize=(2.5 + 0.9 * len(skills), 1.3 + 0.5 * len(trainees)), constrained_layout=True
    )
    cmap = matplotlib.colormaps["Purples"].with_extremes(bad="#eeeeee")
    ax.imshow(np.ma.masked_invalid(grid), cmap=cmap, vmin=0, vmax=1, aspect="auto")
    for i in range(len(trainees)):
        for j in range(len(skills)):
            v = grid[i, j]
            text = "–" if np.isnan(v) else f"{v:.2f}" + (" ✓" if v >= threshold else "")
            ax.text(
                j,
                i,
                text,
                ha="center",
                va="center",
                fontsize=8,
                color="white" if np.isfinite(v) and v > 0.6 else "black",
            )
    ax.set_xticks(range(len(skills)), skills, rotation=30, ha="right", fontsize=8)
    ax.set_yticks(range(len(trainees)), trainees)
    ax.set_title(f"Trainees' mastery per skill (✓: ready, ≥ {threshold:.2f})", fontsize=10)
    return _encode(fig)


def hours_chart(days: Sequence[tuple[str, Mapping[str, float]]], title: str) -> str:
    """Stacked hours per day by part (tasks, practice, skipped, drafts, between tasks)."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6.4, 2.8), constrained_layout=True)
    bottom = np.zeros(len(days))
    for key, label, colour in PARTS:
        h = np.array([parts.get(key, 0.0) / 3600 for _, parts in days])
        ax.bar(range(len(days)), h, bottom=bottom, color=colour, label=label)
        bottom += h
    ax.set_xticks(range(len(days)), [d for d, _ in days])
    ax.set_ylabel("active hours")
    ax.legend(fontsize=7, ncols=3, loc="upper left")
    ax.set_ylim(0, max(1.0, float(bottom.max(initial=0)) * 1.35))
    ax.grid(axis="y", alpha=0.3)
    ax.set_title(title, fontsize=10)
    return _encode(fig)


def matrix_chart(skills: Any) -> str:
    """The annotator × class recall heat map (``team_plot.skill_matrix_png``)."""
    with tempfile.TemporaryDirectory(prefix="hitl-page-") as tmp:
        png = skill_matrix_png(skills, skills.class_names, Path(tmp) / "matrix.png")
        return base64.b64encode(png.read_bytes()).decode("ascii")
