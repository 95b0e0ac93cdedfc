"""The team's figures as rows: for ``hitl-active annotators`` (table and JSON) and the
workspace report's "Team" section (the skill-matrix PNG and a table with flags' evidence,
laid out by ``templates/report/team.html``)."""

from __future__ import annotations

from pathlib import Path

from hitl_active.reports.team_plot import skill_matrix_png
from hitl_active.team.team_skill import POOLED, TeamSkills, team_skills
from hitl_active.workforce.stats import Estimate
from hitl_active.workspace.workspace import Workspace

__all__ = ["format_estimate", "team_figures", "team_rows"]

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
    return format_estimate(None if d is None else Estimate(**d))


def team_figures(ws: Workspace, out_dir: Path) -> dict | None:
    """The report's "Team" section: the skill matrix (``matrix``, the PNG's name, written
    beside the page), a row per annotator with their flags' messages, and the team's pairwise
    agreement (``None`` before any overlapped image); ``None`` when the workspace has no
    annotators."""
    if not ws.store.annotators():
        return None
    skills = team_skills(ws)
    png = skill_matrix_png(skills, skills.class_names, Path(out_dir) / MATRIX_NAME)
    rows = [
        {
            "cells": [
                r["name"], r["tier"], r["tasks"], r["honeypots"], f"{r['hours']:.2f}",
                _estimate(r["recall"]["all"]), _estimate(r["precision"]["all"]),
            ],
            "flags": [f["message"] for f in r["flags"]],
        }
        for r in team_rows(skills)
    ]  # fmt: skip
    agreement = None if skills.agreement is None else f"{skills.agreement:.2f}"
    return {"matrix": png.name, "rows": rows, "agreement": agreement}
