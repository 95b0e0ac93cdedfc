"""The team's figures as rows: for ``hitl-active annotators`` (table and JSON) and the
workspace report's "Team" section (the skill-matrix PNG and a table with flags' evidence)."""

from __future__ import annotations

import html
from pathlib import Path
from typing import TYPE_CHECKING

from hitl_active.team.team_skill import POOLED, TeamSkills
from hitl_active.workspace.workspace import Workspace

if TYPE_CHECKING:
    from hitl_active.workforce.stats import Estimate

__all__ = ["format_estimate", "team_rows", "team_section"]

MATRIX_NAME = "skill_matrix.png"


def format_estimate(e: Estimate | None) -> str:
    """``0.87 [0.80-0.92]``, or ``n/a`` where there is not enough data."""
    if e is None or not e.known:
        return "n/a"
    return f"{e.value:.2f} [{e.low:.2f}-{e.high:.2f}]"


def team_rows(skills: TeamSkills) -> list[dict]:
    """One JSON-ready dict per annotator: workload, recall and precision per class (and
    ``all``) as estimates (``None``: no gold item of that class), overlap figures, flags."""
    keys = {**dict(enumerate(skills.class_names)), POOLED: "all"}
    out = []
    for name, p in skills.people.items():
        g = skills.gold.get(name)
        lat = skills.latent.get(name)
        figures = {}
        for fig in ("recall", "precision"):
            figures[fig] = {
                label: (getattr(g.per_class[c], fig).to_dict() if g and c in g.per_class else None)
                for c, label in keys.items()
            }
        out.append(
            {
                "name": name, "tier": p.tier, "tasks": p.tasks, "honeypots": p.honeypots,
                "hours": round(p.hours, 4), "agreement": p.agreement, **figures,
                "box_noise": None if g is None else g.box_noise.to_dict(),
                "overlap_reliability": None if lat is None else lat.reliability,
                "flags": [
                    {"kind": f.kind, "figure": f.figure, "message": f.message()}
                    for f in skills.flags_of(name)
                ],
            }
        )  # fmt: skip
    return out


def _estimate(d: dict | None) -> str:
    from hitl_active.workforce.stats import Estimate

    return format_estimate(None if d is None else Estimate(**d))


def team_section(ws: Workspace, out_dir: Path) -> str:
    """The report's "Team" section (HTML) with the skill matrix written beside the page;
    empty when the workspace has no annotators."""
    from hitl_active.reports.team_plot import skill_matrix_png
    from hitl_active.team.team_skill import team_skills

    if not ws.store.annotators():
        return ""
    skills = team_skills(ws)
    png = skill_matrix_png(skills, skills.class_names, Path(out_dir) / MATRIX_NAME)
    head = ["annotator", "tier", "tasks", "gold items", "hours", "recall (all)",
            "precision (all)", "flags"]  # fmt: skip
    rows = []
    for r in team_rows(skills):
        flags = "<br>".join(html.escape(f["message"]) for f in r["flags"]) or "none"
        cells = [r["name"], r["tier"], r["tasks"], r["honeypots"], f"{r['hours']:.2f}",
                 _estimate(r["recall"]["all"]), _estimate(r["precision"]["all"])]  # fmt: skip
        tds = "".join(f"<td>{html.escape(str(c))}</td>" for c in cells)
        rows.append(f"<tr>{tds}<td>{flags}</td></tr>")
    ths = "".join(f"<th>{html.escape(h)}</th>" for h in head)
    agree = (
        "no image was answered by two annotators yet"
        if skills.agreement is None
        else f"{skills.agreement:.2f}"
    )
    return f"""<h2>Team</h2>
<p class="note">Recall and precision on gold items served among the tasks, with 90% intervals
("n/a": not enough data). A flag asks a person to look at the evidence; nothing is excluded
automatically. Pairwise agreement on overlapped images (F1 at IoU 0.5): {agree}.</p>
<img src="{png.name}" alt="skill matrix: recall per annotator and class">
<table><tr>{ths}</tr>{"".join(rows)}</table>
"""
