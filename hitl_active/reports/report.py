"""``hitl-active report``: an HTML page a manager can read, and the learning-curve PNG beside it.

The page (``report.html``, no scripts) holds a summary, the learning curve of each model
version's gold mAP against labelled images and annotator-hours, a table per round (open
rounds read "in progress"; running totals are marked), the corrections annotators made to
the pre-labels per round, and each version's AP per class, with a drop of
:data:`REGRESSION_DROP` or more against the version it replaced flagged.
"""

from __future__ import annotations

import html
import logging
from collections import Counter
from pathlib import Path

from hitl_active.loop.registry import gold_map
from hitl_active.loop.rounds import RoundSummary
from hitl_active.loop.status import loop_status
from hitl_active.reports.report_plot import CurvePoint, plot_learning_curve
from hitl_active.reports.team_report import team_section
from hitl_active.workspace.workspace import Workspace

__all__ = ["REGRESSION_DROP", "CurvePoint", "class_regressions", "learning_curve", "write_report"]

logger = logging.getLogger(__name__)

REGRESSION_DROP = 0.3  # relative drop of one class's AP that is flagged
CHANGES = ("kept", "moved", "relabelled", "deleted", "added")
MAP_MEANING = (
    "mAP (mean average precision) scores a model's boxes against the frozen gold set, from 0 "
    "to 1 (higher is better): mAP50 counts a box as found when it overlaps the true box by "
    "half, mAP50-95 averages stricter overlaps up to 95%."
)


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


def _cell(value: object, cls: str = "") -> str:
    attr = f' class="{cls}"' if cls else ""
    return f"<td{attr}>{html.escape(str(value))}</td>"


def _table(headers: list[str], rows: list[str], caption: str = "") -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    cap = f"<caption>{html.escape(caption)}</caption>" if caption else ""
    return f"<table>{cap}<tr>{head}</tr>{''.join(rows)}</table>"


def _fmt(v: float | None) -> str:
    return "-" if v is None else f"{v:.4f}"


def _round_rows(ws: Workspace) -> list[str]:
    rows = []
    for r in ws.store.rounds():
        s = RoundSummary.from_round(ws, r)
        if r.finished_at is None:
            state = f"in progress ({r.step}, {s.pending} tasks open)"
            cells = [s.round_id, state, "-", "-", "-", "-", s.model_version or "-", "-"]
            rows.append('<tr class="open">' + "".join(_cell(c) for c in cells) + "</tr>")
            continue
        promoted = "yes" if s.promoted else ("no" if s.map50_95 is not None else "no retrain")
        cells = [s.round_id, "done", s.labelled, f"{s.annotator_hours:.2f}", _fmt(s.map50_95),
                 _fmt(s.map50), s.model_version or "-", promoted]  # fmt: skip
        rows.append("<tr>" + "".join(_cell(c) for c in cells) + "</tr>")
    return rows


def _correction_rows(ws: Workspace) -> list[str]:
    rows = []
    for rid, c in sorted(corrections_by_round(ws).items()):
        cells = [rid, c["annotations"], *(c[k] for k in CHANGES), c["no_diff"]]
        rows.append("<tr>" + "".join(_cell(v) for v in cells) + "</tr>")
    return rows


def _version_rows(ws: Workspace, flags: dict[str, dict[str, str]]) -> tuple[list[str], list[str]]:
    versions = ws.store.model_versions()
    classes = list(ws.config.classes)
    rows = []
    for v in versions:
        per_class = v.metrics.get("gold", {}).get("per_class_ap50_95", {})
        flagged = flags.get(v.name, {})
        cells = [_cell(v.name), _cell(v.parent or "-"), _cell(v.status),
                 _cell(_fmt(gold_map(v))), _cell(_fmt(gold_map(v, "map50")))]  # fmt: skip
        for cls in classes:
            ap = per_class.get(cls)
            if cls in flagged:
                cells.append(_cell(f"{_fmt(ap)} ⚠ regression: {flagged[cls]}", "regression"))
            else:
                cells.append(_cell(_fmt(ap)))
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return ["version", "parent", "status", "mAP50-95", "mAP50", *classes], rows


STYLE = """body{font-family:sans-serif;max-width:1100px;margin:2em auto;color:#222}
table{border-collapse:collapse;margin:.5em 0 1.5em}td,th{border:1px solid #ccc;padding:3px 8px}
th{background:#f3f3f3}caption{text-align:left;color:#555;padding:2px 0}
tr.open td{color:#555;font-style:italic}td.regression{background:#fde2e1;font-weight:bold}
.note{color:#555}"""


def write_report(ws: Workspace, out_dir: str | Path | None = None) -> tuple[Path, Path]:
    """Write ``learning_curve.png`` and ``report.html`` to ``out_dir`` (default reports/);
    with annotators on record, a "Team" section and ``skill_matrix.png`` too."""
    out = Path(out_dir) if out_dir else ws.root / "reports"
    out.mkdir(parents=True, exist_ok=True)
    png = plot_learning_curve(learning_curve(ws), out / "learning_curve.png")
    st = loop_status(ws)
    flags = class_regressions(ws)
    summary = [
        ("current model", st.model_version or "none yet"),
        ("gold mAP50-95 / mAP50", f"{_fmt(st.map50_95)} / {_fmt(st.map50)}"),
        ("labelled images", st.labelled),
        ("annotator time", f"{st.annotator_hours:.2f} h"),
        ("pool images (labelled or not)", st.pool),
        ("gold set", st.gold),
        ("tasks waiting for annotators", st.pending_tasks),
        ("rounds", "none yet" if st.round_id is None else f"{st.round_id} ({st.round_step})"),
        ("model versions", st.versions),
    ]
    summary_rows = [f"<tr><th>{html.escape(k)}</th>{_cell(v)}</tr>" for k, v in summary]
    v_head, v_rows = _version_rows(ws, flags)
    flag_note = (
        f"<p class='note'>⚠ {sum(len(f) for f in flags.values())} class regression(s): a class "
        f"whose AP50-95 fell by {REGRESSION_DROP:.0%} or more against the version before.</p>"
        if flags else ""
    )  # fmt: skip
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>hitl-active report: {
        html.escape(ws.root.name)
    }</title>
<style>{STYLE}</style></head><body>
<h1>Active-learning report: {html.escape(ws.root.name)}</h1>
<p class="note">{html.escape(MAP_MEANING)}</p>
<h2>Summary</h2><table>{"".join(summary_rows)}</table>
<h2>Learning curve</h2>
<img src="{png.name}" alt="gold mAP against labelled images and annotator-hours" width="1000">
<h2>Rounds</h2>
{
        _table(
            [
                "round",
                "state",
                "labelled (total)",
                "annotator-h (total)",
                "mAP50-95",
                "mAP50",
                "model",
                "promoted",
            ],
            _round_rows(ws),
            "(total) columns are running totals up to the end of the round.",
        )
    }
<h2>Corrections per round</h2>
{
        _table(
            ["round", "annotations", *CHANGES, "without diff"],
            _correction_rows(ws),
            "Boxes of the pre-labels that annotators kept, moved, relabelled or deleted, and boxes "
            "they added.",
        )
    }
<h2>Model versions: AP50-95 per class on the gold set</h2>
{flag_note}{_table(v_head, v_rows)}
{team_section(ws, out)}</body></html>
"""
    html_path = out / "report.html"
    html_path.write_text(page, encoding="utf-8")
    logger.info("report written to %s", html_path)
    return png, html_path
