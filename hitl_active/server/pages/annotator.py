"""An annotator's own page: their skill per class with intervals and its trend per round,
their training, hours this week, effective wage against the floor, workload left today and
peer tips. Nothing on it says which tasks had known answers, nor how many, nor anything
about another person.

This module works out the figures; ``templates/pages/annotator.html`` lays them out.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from typing import Any

from hitl_active.i18n import N_, day, number, page_language, translator
from hitl_active.server.pages import charts
from hitl_active.server.pages.fairwork import annotator_work
from hitl_active.server.pages.training import peer_tips, progress
from hitl_active.team.pilots import in_a_pilot
from hitl_active.team.team_skill import annotator_view, recall_by_round
from hitl_active.templates import render
from hitl_active.workforce.pilot import WHO5_ITEMS
from hitl_active.workspace.workspace import Workspace

__all__ = ["annotator_page"]


#: The survey is offered again this long after a person's last answer (WHO-5 asks about the
#: last two weeks).
SURVEY_EVERY_S = 14 * 86400.0

#: The tiers' names as the page shows them (``_(person.tier)`` in the template).
TIER_NAMES = (N_("trainee"), N_("annotator"), N_("reviewer"))

# The skill table's columns after the class, in the order the template heads them.
FIGURES = ("recall", "precision", "label_accuracy", "iou", "automation_bias")


def _est(e: dict | None, lang: str) -> str:
    if e is None or e.get("value") is None:
        return translator(lang).gettext("not enough data yet")
    value, low, high = (number(e[k], 2, lang) for k in ("value", "low", "high"))
    return f"{value} ({low}–{high})"


def _skill(ws: Workspace, view: dict, name: str, lang: str) -> dict | None:
    """The person's figures per class (``all`` last) as table rows, their chart, and their
    recall round by round (``trend``: ``None`` before a round); ``None`` with no measured
    answer yet."""
    gold = view.get("gold")
    if gold is None:
        return None
    per_class = gold["per_class"]
    order = [c for c in per_class if c != "all"] + (["all"] if "all" in per_class else [])
    chart = charts.skill_chart(
        {c: per_class[c] for c in order}, "Your recall and precision per class, with 90% intervals"
    )
    points = [(f"round {rid}", e.to_dict()) for rid, e in recall_by_round(ws, name)]
    trend = charts.trend_chart(points, "Your recall per round (all classes)") if points else None
    return {
        "chart": chart,
        "rows": [[c, *(_est(per_class[c][f], lang) for f in FIGURES)] for c in order],
        "trend": trend,
    }


def _notes(view: dict) -> dict:
    """Agreement with others on shared images (``None`` without any), and the notes raised."""
    agreement = view.get("agreement")
    return {
        "agreement": None if agreement is None else f"{agreement:.2f}",
        "flags": [f["message"] for f in view.get("flags") or []],
    }


def _training(ws: Workspace, person: Any) -> dict | None:
    """The person's practice: paid minutes, tasks done, skills ready, their mastery chart and
    the practice set waiting; ``None`` with no practice at all."""
    p = progress(ws, person)
    if p is None:
        return None
    ready = sum(p.ready(s) for s in p.mastery)
    chart = None
    if p.state is not None and p.state.attempts:
        title = "Your mastery per skill over paid practice minutes"
        chart = charts.progress_chart(p.state, title)
    return {
        "minutes": f"{p.minutes:.0f}",
        "tasks_done": p.tasks_done,
        "ready": ready,
        "skills": len(p.mastery),
        "all_ready": bool(p.mastery) and ready == len(p.mastery),
        "chart": chart,
        "pending": [[x.task_type, ", ".join(x.skills), x.reason] for x in p.pending],
        "problem": p.problem,
        "out_of_practice": ", ".join(p.out_of_practice),
    }


def _tips(ws: Workspace, person_id: int) -> dict:
    """Others' tips (``peers``, "from your peers"); the person's own apart (``own``), as
    theirs. Ten of each at most, newest first."""
    tips = peer_tips(ws)
    return {
        "peers": [x for x in tips if x["annotator_id"] != person_id][:10],
        "own": [x for x in tips if x["annotator_id"] == person_id][:10],
    }


def _places(ws: Workspace, person: Any) -> dict:
    """Where the person's work waits in Label Studio: their queue (``tasks``) and, while a
    trainee, their practice (``practice``), each ``{"href", "project"}``, or ``None`` when the
    workspace has no Label Studio address or the person no such project."""
    url = (ws.config.label_studio_url or "").rstrip("/")
    known = url.startswith(("http://", "https://"))
    practice = person.practice_project_id if person.tier == "trainee" else None
    return {
        what: {"href": f"{url}/projects/{int(project)}/data", "project": int(project)}
        if known and project
        else None
        for what, project in (("tasks", person.queue_project_id), ("practice", practice))
    }


def survey_token(person: Any) -> str:
    """The hidden value the survey's form carries: made from the person's page key, so a
    form on another site cannot post answers in their name."""
    key = (person.page_key_hash or "").encode()
    return hmac.new(key, f"wellbeing:{person.id}".encode(), hashlib.sha256).hexdigest()


def _survey(ws: Workspace, person: Any, lang: str, note: str | None) -> dict | None:
    """The optional WHO-5 survey while the person is in a pilot, and their own answers
    (always theirs to see and withdraw); ``None`` when there is neither."""
    mine = ws.store.wellbeing(person.id)
    offer = in_a_pilot(ws, person.id)
    if not offer and not mine and note is None:
        return None
    last = max((r["answered_at"] for r in mine), default=0.0)
    _ = translator(lang).gettext
    return {
        "offer": offer and time.time() - last > SURVEY_EVERY_S,
        "items": [_(q) for q in WHO5_ITEMS],
        "token": survey_token(person),
        "answers": [[day(r["answered_at"], lang), r["score"]] for r in reversed(mine)],
        "note": note,
    }


def annotator_page(
    ws: Workspace,
    name: str,
    work: Any = None,
    skills: Any = None,
    lang: str | None = None,
    note: str | None = None,
) -> str:
    """The page of annotator ``name``; ``work`` is the workspace's fair-work figures
    (:func:`hitl_active.team.team_work_figures.team_work`), ``skills`` its team skills, when at
    hand. In ``lang``, by default the first of the person's languages with a catalogue
    (charts keep English titles: their text is drawn, not laid out)."""
    person = ws.store.annotator(name)
    if person is None:
        raise KeyError(f"no annotator {name!r}")
    lang = lang or page_language(person.languages)
    view = annotator_view(ws, person.name, skills)
    return render(
        "pages/annotator.html",
        lang,
        person={"name": person.name, "tier": person.tier, "tasks": view["tasks"]},
        places=_places(ws, person),
        work=annotator_work(ws, work, person),
        skill=_skill(ws, view, person.name, lang),
        notes=_notes(view),
        training=_training(ws, person),
        tips=_tips(ws, person.id),
        survey=_survey(ws, person, lang, note),
    )
