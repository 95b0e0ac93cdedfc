"""The manager's page: the annotators × classes heat map, the team table, trainees' mastery,
flags with their evidence, gold coverage, and the fair-work figures (hours, pay, workload,
signals about the task design, ROI, the transparency report).

This module works out the figures; ``templates/pages/manager.html`` lays them out.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from hitl_active.reports.team_report import format_estimate, team_rows
from hitl_active.server.pages import charts
from hitl_active.server.pages.fairwork import manager_work
from hitl_active.server.pages.training import peer_tips, progress
from hitl_active.team.practice_track import PracticeTrack, out_of_practice_advice
from hitl_active.team.team_skill import gold_by_path, team_skills
from hitl_active.templates import render
from hitl_active.workforce.stats import MIN_COUNT, Estimate
from hitl_active.workspace.workspace import Workspace

__all__ = ["manager_page"]


def _est(d: dict | None) -> str:
    return format_estimate(None if d is None else Estimate(**d))


def _team(skills: Any) -> dict | None:
    """The skill matrix and a row per annotator; ``None`` with no annotator yet."""
    rows = team_rows(skills)
    if not rows:
        return None
    body = [
        [
            r["name"],
            r["tier"],
            r["tasks"],
            r["honeypots"],
            f"{r['hours']:.2f}",
            _est(r["recall"]["all"]),
            _est(r["precision"]["all"]),
            "–" if r["agreement"] is None else f"{r['agreement']:.2f}",
            len(r["flags"]),
        ]
        for r in rows
    ]
    return {"matrix": charts.matrix_chart(skills), "rows": body}


def _next_set(name: str, g: Any) -> str:
    """A trainee's waiting practice, each with why, and the skills practice has nothing left
    for (the manager decides those)."""
    parts = [f"{x.task_type} ({x.reason})" for x in g.pending]
    if g.out_of_practice:
        parts.append(out_of_practice_advice(name, g.out_of_practice))
    return "; ".join(parts) or "none waiting"


def _trainees(ws: Workspace) -> dict | None:
    """Every trainee's mastery per skill as a heat map and a row each, with the peer tips;
    ``None`` while nobody has practised."""
    track = PracticeTrack(ws, None, None)  # one practice pool for every trainee
    people = ws.store.annotators()
    found = [(p.name, g) for p in people if (g := progress(ws, p, track)) is not None]
    if not found:
        return None
    skills = sorted({s for _, g in found for s in g.mastery})
    values = [[g.mastery.get(s) for s in skills] for _, g in found]
    threshold = found[0][1].threshold
    rows = [
        [
            n,
            f"{g.minutes:.0f}",
            g.tasks_done,
            sum(g.ready(s) for s in g.mastery),
            _next_set(n, g),
        ]
        for n, g in found
    ]
    return {
        "heat": charts.mastery_heat([n for n, _ in found], skills, values, threshold),
        "rows": rows,
        "tips": [[x["name"], x["skill"], x["task_type"], x["text"]] for x in peer_tips(ws)],
    }


def _coverage(ws: Workspace, skills: Any) -> dict:
    """Gold images, items served and answers scored; per class its gold objects and how many
    annotators have an estimate on it."""
    gold = gold_by_path(ws)
    objects = Counter(int(c) for labels in gold.values() for c in labels.class_id)
    rows = []
    for c, name in enumerate(skills.class_names):
        known = sum(
            1 for s in skills.gold.values() if c in s.per_class and s.per_class[c].recall.known
        )
        rows.append([name, objects.get(c, 0), f"{known} of {len(skills.people)}"])
    return {
        "images": len(gold),
        "served": len(ws.store.assignments(kind="honeypot")),
        "answered": sum(p.honeypots for p in skills.people.values()),
        "min_count": MIN_COUNT,
        "rows": rows,
    }


def manager_page(ws: Workspace, work: Any = None, skills: Any = None) -> str:
    """The manager's page of ``ws``; ``work``: its fair-work figures, when there are any."""
    skills = skills or team_skills(ws)
    return render(
        "pages/manager.html",
        workspace=ws.root.name,
        team=_team(skills),
        work=manager_work(work),
        flags=[f.message() for f in skills.flags],
        trainees=_trainees(ws),
        coverage=_coverage(ws, skills),
    )
