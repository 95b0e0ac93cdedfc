"""The learning-curve figure of ``hitl-active report``: gold mAP against labels and hours."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

__all__ = ["CurvePoint", "plot_learning_curve"]


@dataclass(frozen=True)
class CurvePoint:
    version: str
    labelled: int
    annotator_hours: float
    map50_95: float
    map50: float
    status: str


def plot_learning_curve(points: list[CurvePoint], out_png: Path) -> Path:
    """Two panels (vs labelled images, vs annotator-hours); the legend sits below them, so it
    never covers a point."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 4.4), constrained_layout=True)
    for ax, attr, label in (
        (axes[0], "labelled", "labelled images (total)"),
        (axes[1], "annotator_hours", "annotator-hours (total)"),
    ):
        xs = [getattr(p, attr) for p in points]
        ax.plot(xs, [p.map50_95 for p in points], "o-", label="gold mAP50-95")
        ax.plot(xs, [p.map50 for p in points], "s--", label="gold mAP50")
        promoted = [p for p in points if p.status == "promoted"]
        ax.plot([getattr(p, attr) for p in promoted], [p.map50_95 for p in promoted], "o",
                ms=11, mfc="none", mec="green", label="in use (promoted)")  # fmt: skip
        for p, x in zip(points, xs, strict=True):
            ax.annotate(p.version, (x, p.map50_95), fontsize=7, xytext=(3, 3),
                        textcoords="offset points")  # fmt: skip
        ax.set_xlabel(label)
        ax.set_ylabel("mAP on the gold set")
        ax.set_ylim(bottom=0)
        ax.grid(alpha=0.3)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncol=3, frameon=False)
    fig.suptitle("Learning curve: each point is one model version")
    out_png.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out_png, dpi=100)
    plt.close(fig)
    return out_png
