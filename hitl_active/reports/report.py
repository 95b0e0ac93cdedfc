"""``hitl-active report``: an HTML page a manager can read, and the learning-curve PNG beside it.

The page (``report.html``, no scripts) holds a summary, the learning curve of each model
version's gold mAP against labelled images and annotator-hours, a table per round (open
rounds read "in progress"; running totals are marked), the corrections annotators made to
the pre-labels per round, and each version's AP per class, with a drop of
:data:`REGRESSION_DROP` or more against the version it replaced flagged. This module works out
the figures; ``templates/report/report.html`` lays them out.
"""

from __future__ import annotations

import logging
from collections import Counter
from pathlib import Path

from hitl_active.loop.registry import gold_map
from hitl_active.loop.rounds import RoundSummary
from hitl_active.loop.status import loop_status
from hitl_active.reports.quality import AUDIT_RESULT_KEY, HEAD, quality_rows
from hitl_active.reports.report_plot import CurvePoint, plot_learning_curve
from hitl_active.reports.team_report import team_figures
from hitl_active.templates import render
from hitl_active.workspace.workspace import Workspace

__all__ = ["REGRESSION_DROP", "CurvePoint", "class_regressions", "learning_curve", "write_report"]

logger = logging.getLogger(__name__)

REGRESSION_DROP = 0.3  # relative drop of one class's AP that is flagged
CHANGES = ("kept", "moved", "relabelled", "deleted", "added")


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


def class_regressions(ws: Workspace, drop: float = REGRESSION_DROP) -> dict[str, dict[str, str]]:
    """``version -> {class: "0.40 → 0.20 (-50%) vs v0001"}`` for each class whose gold AP50-95
    fell by ``drop`` or more (relative) against the version's parent (else the one before)."""
    versions = [v for v in ws.store.model_versions() if gold_map(v) is not None]
    by_name = {v.name: v for v in versions}
    out: dict[str, dict[str, str]] = {}
    for k, v in enumerate(versions):
        base = by_name.get(v.parent or "") or (versions[k - 1] if k else None)
        if base is None:
            continue
        before = base.metrics.get("gold", {}).get("per_class_ap50_95", {})
        after = v.metrics.get("gold", {}).get("per_class_ap50_95", {})
        for cls, old in before.items():
            new = after.get(cls)
            if new is None or old is None or old <= 0:
                continue
            if (old - new) / old >= drop:
                out.setdefault(v.name, {})[cls] = (
                    f"{old:.2f} → {new:.2f} ({(new - old) / old:+.0%}) vs {base.name}"
                )
    return out


def corrections_by_round(ws: Workspace) -> dict[int, Counter]:
    """Per round: boxes kept / moved / relabelled / deleted / added against the pre-label,
    from each current annotation's recorded diff, with ``annotations`` and ``no_diff``."""
    round_of = {t.image_id: t.round_id for t in ws.store.tasks()}
    out: dict[int, Counter] = {}
    for ann in ws.store.annotations():
        rid = round_of.get(ann.image_id)
        if rid is None:
            continue
        c = out.setdefault(rid, Counter())
        c["annotations"] += 1
        counts = (ann.diff or {}).get("counts")
        if counts is None:
            c["no_diff"] += 1
            continue
        for key in CHANGES:
            c[key] += int(counts.get(key, 0))
    return out


def _fmt(v: float | None) -> str:
    return "-" if v is None else f"{v:.4f}"


def _rounds(ws: Workspace) -> list[dict]:
    """A row per round: an open one (``open``) with its step and open tasks; a finished one
    with its running totals, gold mAP and whether its candidate was promoted."""
    rows = []
    for r in ws.store.rounds():
        s = RoundSummary.from_round(ws, r)
        row = {"id": s.round_id, "open": r.finished_at is None, "model": s.model_version or "-"}
        if row["open"]:
            rows.append({**row, "step": r.step, "pending": s.pending})
            continue
        rows.append(
            {
                **row,
                "labelled": s.labelled,
                "hours": f"{s.annotator_hours:.2f}",
                "map50_95": _fmt(s.map50_95),
                "map50": _fmt(s.map50),
                "promoted": s.promoted,
                "evaluated": s.map50_95 is not None,
            }
        )
    return rows


def _corrections(ws: Workspace) -> list[list[int]]:
    """A row per round: annotations, each kind of change (:data:`CHANGES`), without diff."""
    return [
        [rid, c["annotations"], *(c[k] for k in CHANGES), c["no_diff"]]
        for rid, c in sorted(corrections_by_round(ws).items())
    ]


def _versions(ws: Workspace, flags: dict[str, dict[str, str]]) -> list[dict]:
    """A row per model version: its cells, then its AP per class (``regression``: the drop's
    evidence, or ``None``) in the config's class order."""
    rows = []
    for v in ws.store.model_versions():
        per_class = v.metrics.get("gold", {}).get("per_class_ap50_95", {})
        flagged = flags.get(v.name, {})
        cells = [v.name, v.parent or "-", v.status, _fmt(gold_map(v)), _fmt(gold_map(v, "map50"))]
        classes = [
            {"ap": _fmt(per_class.get(c)), "regression": flagged.get(c)} for c in ws.config.classes
        ]
        rows.append({"cells": cells, "classes": classes})
    return rows


def write_report(ws: Workspace, out_dir: str | Path | None = None) -> tuple[Path, Path]:
    """Write ``learning_curve.png`` and ``report.html`` to ``out_dir`` (default reports/);
    with annotators on record, a "Team" section and ``skill_matrix.png`` too."""
    out = Path(out_dir) if out_dir else ws.root / "reports"
    out.mkdir(parents=True, exist_ok=True)
    png = plot_learning_curve(learning_curve(ws), out / "learning_curve.png")
    st = loop_status(ws)
    flags = class_regressions(ws)
    summary = {
        "model": st.model_version,
        "map": f"{_fmt(st.map50_95)} / {_fmt(st.map50)}",
        "labelled": st.labelled,
        "hours": f"{st.annotator_hours:.2f}",
        "pool": st.pool,
        "gold": st.gold,
        "pending": st.pending_tasks,
        "round": st.round_id,
        "step": st.round_step,
        "versions": st.versions,
    }
    audit = ws.store.get(AUDIT_RESULT_KEY)
    page = render(
        "report/report.html",
        workspace=ws.root.name,
        summary=summary,
        curve=png.name,
        rounds=_rounds(ws),
        changes=list(CHANGES),
        corrections=_corrections(ws),
        classes=list(ws.config.classes),
        versions=_versions(ws, flags),
        regressions=sum(len(f) for f in flags.values()),
        drop=f"{REGRESSION_DROP:.0%}",
        team=team_figures(ws, out),
        quality=None if audit is None else {"head": list(HEAD), "rows": quality_rows(audit)},
    )
    html_path = out / "report.html"
    html_path.write_text(page, encoding="utf-8")
    logger.info("report written to %s", html_path)
    return png, html_path
