"""An annotator's own page: their skill per class with intervals and its trend per round,
their training, hours this week, effective wage against the floor, workload left today and
peer tips. Nothing on it says which tasks had known answers, nor how many, nor anything
about another person.
"""

from __future__ import annotations

from typing import Any

from hitl_active.server.pages import charts
from hitl_active.server.pages.fairwork import annotator_work_sections
from hitl_active.server.pages.html import card, cards, esc, page, png_img, section, table
from hitl_active.server.pages.training import peer_tips, progress
from hitl_active.workspace.workspace import Workspace

__all__ = ["annotator_page"]

FIGURES = (
    ("recall", "found objects"),
    ("precision", "boxes that were right"),
    ("label_accuracy", "right class"),
    ("iou", "box tightness (IoU)"),
    ("automation_bias", "wrong pre-labels left"),
)


def _est(e: dict | None) -> str:
    if e is None or e.get("value") is None:
        return "not enough data yet"
    return f"{e['value']:.2f} ({e['low']:.2f}–{e['high']:.2f})"


def _skill(ws: Workspace, view: dict, name: str) -> str:
    from hitl_active.team.team_skill import recall_by_round

    gold = view.get("gold")
    if gold is None:
        return section(
            "Your skill per class",
            '<p class="note">No measured answers yet: your '
            "skill appears after your first checked tasks.</p>",
            id="skill",
        )
    per_class = gold["per_class"]
    order = [c for c in per_class if c != "all"] + (["all"] if "all" in per_class else [])
    chart = charts.skill_chart(
        {c: per_class[c] for c in order}, "Your recall and precision per class, with 90% intervals"
    )
    rows = [[c, *(_est(per_class[c][f]) for f, _ in FIGURES)] for c in order]
    trend = recall_by_round(ws, name)
    trend_html = ""
    if trend:
        points = [(f"round {rid}", e.to_dict()) for rid, e in trend]
        trend_html = "<h3>Your trend, round by round</h3>" + png_img(
            charts.trend_chart(points, "Your recall per round (all classes)"),
            "your recall per round",
        )
    note = (
        '<p class="note">Measured on answers whose right result is known, mixed among your '
        "tasks like any other; a figure shows once it rests on enough objects. Interval: "
        "where the true value lies with 90% probability.</p>"
    )
    return section(
        "Your skill per class",
        note,
        png_img(chart, "your skill per class"),
        table(["class", *(label for _, label in FIGURES)], rows),
        trend_html,
        id="skill",
    )


def _overlap_and_flags(view: dict) -> str:
    parts = []
    if view.get("agreement") is not None:
        parts.append(
            f"<p>Agreement with others on images you shared (F1 at IoU 0.5): "
            f"<b>{view['agreement']:.2f}</b></p>"
        )
    flags = view.get("flags") or []
    if flags:
        parts += [f'<div class="flag">{esc(f["message"])}</div>' for f in flags]
        parts.append(
            '<p class="note">A note is for a conversation with your manager; nothing '
            "is decided automatically.</p>"
        )
    else:
        parts.append("<p>No notes about your work.</p>")
    return section("Notes for you", *parts, id="notes")


def _training(ws: Workspace, person: Any) -> str:
    p = progress(ws, person)
    if p is None:
        return section(
            "Training",
            "<p>No practice yet: practice tasks appear here once you "
            "are enrolled in the training track.</p>",
            id="training",
        )
    ready = sum(p.ready(s) for s in p.mastery)
    head = cards(
        [
            card("paid practice minutes", f"{p.minutes:.0f}"),
            card("practice tasks done", str(p.tasks_done)),
            card(
                "skills ready",
                f"{ready} of {len(p.mastery)}",
                "ok" if p.mastery and ready == len(p.mastery) else "",
            ),
        ]
    )
    chart = ""
    if p.state is not None and p.state.attempts:
        title = "Your mastery per skill over paid practice minutes"
        chart = png_img(charts.progress_chart(p.state, title), "your mastery per skill")
    if p.pending:
        rows = [[x.task_type, ", ".join(x.skills), x.reason] for x in p.pending]
        nxt = "<h3>Your next practice set</h3>" + table(["task", "skills", "why this one"], rows)
    else:
        nxt = "<p>No practice set waiting for you.</p>"
    problem = f'<p class="note">{esc(p.problem)}</p>' if p.problem else ""
    return section("Training", head, chart, nxt, problem, id="training")


def _tips(ws: Workspace, person_id: int) -> str:
    """Others' tips under "from your peers"; the person's own tips apart, as theirs."""
    tips = peer_tips(ws)
    peers = [x for x in tips if x["annotator_id"] != person_id]
    own = [x for x in tips if x["annotator_id"] == person_id]

    def item(x: dict) -> str:
        return (
            f'<div class="tip"><b>{esc(x["task_type"])}</b> helped with <b>{esc(x["skill"])}</b>'
            + (f": “{esc(x['text'])}”" if x["text"] else "")
            + "</div>"
        )

    parts = [item(x) for x in peers[:10]] or ["<p>No tips yet.</p>"]
    if own:
        parts += ["<h3>Your tips to others</h3>", *(item(x) for x in own[:10])]
    return section("Tips from your peers", *parts, id="tips")


def _next(ws: Workspace, person: Any) -> str:
    """Where the person's work waits: their queue, and their practice while a trainee."""
    url = (ws.config.label_studio_url or "").rstrip("/")
    places = [
        (what, project)
        for what, project in (
            ("Your tasks", person.queue_project_id),
            ("Your practice", person.practice_project_id if person.tier == "trainee" else None),
        )
        if project
    ]
    if not url.startswith(("http://", "https://")) or not places:
        return section(
            "What to do next", "<p>Your tasks are in Label Studio; ask your manager for the link "
            "to your queue.</p>", id="next",
        )  # fmt: skip
    links = [
        f'<p><a href="{esc(url)}/projects/{int(project)}/data">{esc(what)}</a> '
        f"(Label Studio project {int(project)})</p>"
        for what, project in places
    ]
    return section("What to do next", *links, id="next")


def annotator_page(ws: Workspace, name: str, work: Any = None, skills: Any = None) -> str:
    """The page of annotator ``name``; ``work`` is the workspace's fair-work figures
    (:func:`hitl_active.team.team_work_figures.team_work`), ``skills`` its team skills, when at
    hand."""
    from hitl_active.team.team_skill import annotator_view

    person = ws.store.annotator(name)
    if person is None:
        raise KeyError(f"no annotator {name!r}")
    view = annotator_view(ws, person.name, skills)
    summary = cards([card("tasks done", str(view["tasks"])), card("tier", person.tier)])
    sections = [
        section("At a glance", summary, id="glance"),
        _next(ws, person),
        *annotator_work_sections(ws, work, person),
        _skill(ws, view, person.name),
        _overlap_and_flags(view),
        _training(ws, person),
        _tips(ws, person.id),
    ]
    return page(
        f"{person.name} — your page", "hitl-active: your own figures, seen only by you", sections
    )
