"""``hitl-active report``: a learning-curve PNG and an HTML summary of the loop.

The curve plots each evaluated model version's gold mAP50-95 (and mAP50) against the
labelled images and the annotator-hours it was trained on.
"""

from __future__ import annotations

import html
import logging
from dataclasses import dataclass
from pathlib import Path

from hitl_active.loop.registry import gold_map
from hitl_active.loop.rounds import RoundSummary
from hitl_active.loop.status import loop_status
from hitl_active.loop.workspace import Workspace

__all__ = ["CurvePoint", "learning_curve", "write_report"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class CurvePoint:
    version: str
    labelled: int
    annotator_hours: float
    map50_95: float
    map50: float
    status: str


def learning_curve(ws: Workspace) -> list[CurvePoint]:
    """One point per evaluated model version, in creation order."""
    points = []
    for v in ws.store.model_versions():
        m = gold_map(v)
        if m is None:
            continue
        points.append(
            CurvePoint(
                version=v.name,
                labelled=int(v.metrics.get("labelled_images", v.snapshot.get("n_images", 0))),
                annotator_hours=float(v.metrics.get("annotator_seconds", 0.0)) / 3600.0,
                map50_95=m,
                map50=gold_map(v, "map50") or 0.0,
                status=v.status,
            )
        )
    return points


def plot_learning_curve(points: list[CurvePoint], out_png: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 4), constrained_layout=True)
    for ax, attr, label in (
        (axes[0], "labelled", "labelled images"),
        (axes[1], "annotator_hours", "annotator-hours"),
    ):
        xs = [getattr(p, attr) for p in points]
        ax.plot(xs, [p.map50_95 for p in points], "o-", label="gold mAP50-95")
        ax.plot(xs, [p.map50 for p in points], "s--", label="gold mAP50")
        for p, x in zip(points, xs, strict=True):
            ax.annotate(p.version, (x, p.map50_95), fontsize=7, xytext=(3, 3),
                        textcoords="offset points")  # fmt: skip
        ax.set_xlabel(label)
        ax.set_ylabel("mAP on the gold set")
        ax.grid(alpha=0.3)
        ax.legend(loc="upper left")
    fig.suptitle("Learning curve")
    out_png.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out_png, dpi=100)
    plt.close(fig)
    return out_png


def _table(headers: list[str], rows: list[list[object]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>" for row in rows
    )
    return f"<table><tr>{head}</tr>{body}</table>"


def _fmt(v: float | None) -> str:
    return "-" if v is None else f"{v:.4f}"


def write_report(ws: Workspace, out_dir: str | Path | None = None) -> tuple[Path, Path]:
    """Write ``learning_curve.png`` and ``report.html`` to ``out_dir`` (default reports/)."""
    out = Path(out_dir) if out_dir else ws.root / "reports"
    out.mkdir(parents=True, exist_ok=True)
    points = learning_curve(ws)
    png = plot_learning_curve(points, out / "learning_curve.png")
    status = loop_status(ws)
    rounds = [RoundSummary.from_round(ws, r) for r in ws.store.rounds()]
    round_rows = [
        [r.round_id, r.labelled, f"{r.annotator_hours:.2f}", _fmt(r.map50_95), _fmt(r.map50),
         r.model_version or "-", "yes" if r.promoted else "no"]
        for r in rounds
    ]  # fmt: skip
    version_rows = []
    for v in ws.store.model_versions():
        per_class = v.metrics.get("gold", {}).get("per_class_ap50_95", {})
        version_rows.append(
            [v.name, v.parent or "-", v.status, _fmt(gold_map(v)), _fmt(gold_map(v, "map50")),
             ", ".join(f"{k} {_fmt(a)}" for k, a in per_class.items())]
        )  # fmt: skip
    page = f"""<!doctype html>
<html><head><meta charset="utf-8"><title>hitl-active report</title>
<style>body{{font-family:sans-serif;max-width:1000px;margin:2em auto}}
table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:3px 8px}}</style>
</head><body>
<h1>hitl-active report</h1>
<pre>{html.escape(status.format())}</pre>
<h2>Learning curve</h2><img src="{png.name}" alt="learning curve">
<h2>Rounds</h2>
{_table(["round", "labelled", "annotator-h", "mAP50-95", "mAP50", "model", "promoted"], round_rows)}
<h2>Model versions</h2>
{_table(["version", "parent", "status", "mAP50-95", "mAP50", "per-class AP50-95"], version_rows)}
</body></html>
"""
    html_path = out / "report.html"
    html_path.write_text(page)
    logger.info("report written to %s", html_path)
    return png, html_path
