"""The manager's page: the annotators × classes heat map, the team table, trainees' mastery,
flags with their evidence, gold coverage, and the fair-work figures (hours, pay, workload,
signals about the task design, ROI, the transparency report)."""

from __future__ import annotations

from collections import Counter
from typing import Any

from hitl_active.server.pages import charts
from hitl_active.server.pages.fairwork import manager_work_sections
from hitl_active.server.pages.html import card, cards, esc, page, png_img, section, table
from hitl_active.server.pages.training import peer_tips, progress
from hitl_active.workspace.workspace import Workspace

__all__ = ["manager_page"]


def _team(skills: Any) -> str:
    from hitl_active.reports.team_report import format_estimate, team_rows
    from hitl_active.workforce.stats import Estimate

    rows = team_rows(skills)
    if not rows:
        return section(
            "Team",
            "<p>No annotators yet: they are recorded as they first answer, "
            "or with <code>hitl-active annotators add</code>.</p>",
            id="team",
        )

    def est(d: dict | None) -> str:
        return format_estimate(None if d is None else Estimate(**d))

    body = [
        [
            r["name"],
            r["tier"],
            r["tasks"],
            r["honeypots"],
            f"{r['hours']:.2f}",
            est(r["recall"]["all"]),
            est(r["precision"]["all"]),
            "–" if r["agreement"] is None else f"{r['agreement']:.2f}",
            len(r["flags"]),
        ]
        for r in rows
    ]
    head = [
        "annotator",
        "tier",
        "tasks",
        "gold items",
        "hours (lead time)",
        "recall (all)",
        "precision (all)",
        "agreement",
        "flags",
    ]
    matrix = png_img(charts.matrix_chart(skills), "skill matrix: recall per annotator and class")
    note = (
        '<p class="note">Recall on gold items served among the tasks, with 90% intervals; '
        "grey cells: not enough gold objects for an estimate.</p>"
    )
    return section("Skill matrix", note, matrix, table(head, body), id="team")


def _trainees(ws: Workspace) -> str:
    found = [(p.name, g) for p in ws.store.annotators() if (g := progress(ws, p)) is not None]
    if not found:
        return section(
            "Trainees' mastery",
            "<p>No practice recorded yet: enrol a trainee in the training track.</p>",
            id="trainees",
        )
    skills = sorted({s for _, g in found for s in g.mastery})
    values = [[g.mastery.get(s) for s in skills] for _, g in found]
    threshold = found[0][1].threshold
    heat = png_img(
        charts.mastery_heat([n for n, _ in found], skills, values, threshold),
        "trainees' mastery per skill",
    )
    rows = [
        [
            n,
            f"{g.minutes:.0f}",
            g.tasks_done,
            sum(g.ready(s) for s in g.mastery),
            "; ".join(f"{x.task_type} ({x.reason})" for x in g.pending) or "none waiting",
        ]
        for n, g in found
    ]
    head = ["trainee", "paid practice min", "tasks", "skills ready", "next practice set"]
    tips = peer_tips(ws)
    tip_rows = [[x["name"], x["skill"], x["task_type"], x["text"]] for x in tips]
    tips_html = (
        "<h3>Peer tips</h3>" + table(["from", "skill", "task type", "tip"], tip_rows)
        if tip_rows
        else ""
    )
    return section("Trainees' mastery", heat, table(head, rows), tips_html, id="trainees")


def _flags(skills: Any) -> str:
    if not skills.flags:
        return section("Skill flags", "<p>None.</p>", id="skill-flags")
    items = [f'<div class="flag">{esc(f.message())}</div>' for f in skills.flags]
    note = (
        '<p class="note">Low reliability with its evidence, for a person to review; '
        "nothing is excluded automatically.</p>"
    )
    return section("Skill flags", note, *items, id="skill-flags")


def _coverage(ws: Workspace, skills: Any) -> str:
    from hitl_active.team.team_skill import gold_by_path
    from hitl_active.workforce.stats import MIN_COUNT

    gold = gold_by_path(ws)
    objects = Counter(int(c) for labels in gold.values() for c in labels.class_id)
    served = ws.store.assignments(kind="honeypot")
    answered = sum(p.honeypots for p in skills.people.values())
    rows = []
    for c, name in enumerate(skills.class_names):
        known = sum(
            1 for s in skills.gold.values() if c in s.per_class and s.per_class[c].recall.known
        )
        rows.append([name, objects.get(c, 0), f"{known} of {len(skills.people)}"])
    head = cards(
        [
            card("gold images", str(len(gold))),
            card("gold items served", str(len(served))),
            card("gold answers scored", str(answered)),
        ]
    )
    note = (
        f'<p class="note">An annotator\'s recall on a class is estimated from {MIN_COUNT} '
        "gold objects of it on; classes with few gold objects need more gold images.</p>"
    )
    body = table(["class", "objects in the gold set", "annotators with an estimate"], rows)
    return section("Gold coverage", head, note, body, id="gold")


def manager_page(ws: Workspace, work: Any = None, skills: Any = None) -> str:
    """The manager's page of ``ws``; ``work``: its fair-work figures, when there are any."""
    from hitl_active.team.team_skill import team_skills

    skills = skills or team_skills(ws)
    sections = [
        _team(skills),
        *manager_work_sections(ws, work),
        _flags(skills),
        _trainees(ws),
        _coverage(ws, skills),
    ]
    return page(f"Team — {ws.root.name}", "hitl-active: the manager's page", sections)
