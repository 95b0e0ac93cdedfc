"""The training track as the pages show it: mastery per skill over paid practice minutes,
the practice set waiting for the trainee with the reason each task was chosen, peer tips.

Mastery and its chart are the training track's own
(:meth:`hitl_active.team.practice_track.PracticeTrack.mastery`, Bayesian Knowledge Tracing over
the graded attempts in order; :func:`hitl_active.reports.practice_plot.progress_png`); the
reasons are the ones the curriculum recorded when it pushed each task.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from hitl_active.team.practice_track import PracticeTrack
from hitl_active.workforce.mastery import READY
from hitl_active.workspace.workspace import Workspace

__all__ = ["PendingTask", "Progress", "peer_tips", "progress"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PendingTask:
    task_type: str
    skills: tuple[str, ...]
    reason: str


@dataclass(frozen=True)
class Progress:
    """One person's practice; ``state`` is their replayed mastery (``None`` when it could not
    be read, ``problem`` then says why)."""

    name: str
    minutes: float
    tasks_done: int
    threshold: float
    mastery: dict[str, float]
    state: Any = None
    pending: list[PendingTask] = field(default_factory=list)
    problem: str = ""
    #: skills practice has nothing left for while they are not ready on them, with the tasks
    #: done and mastery (a person decides:
    #: :meth:`~hitl_active.team.practice_track.PracticeTrack.out_of_practice`)
    out_of_practice: dict[str, tuple[int, float]] = field(default_factory=dict)

    def ready(self, skill: str) -> bool:
        return self.mastery.get(skill, 0.0) >= self.threshold


def progress(ws: Workspace, person: Any, track: Any = None) -> Progress | None:
    """``person``'s practice so far; ``None`` when they have no practice task at all.
    ``track``: a :class:`PracticeTrack` of ``ws`` to share (its practice pool is made once)."""

    rows = ws.store.practice(person.id)
    if not rows:
        return None
    pending = [
        PendingTask(r.task_type, tuple(r.skills), str(r.feedback.get("reason", "")))
        for r in rows
        if r.outcome is None
    ]
    track = track or PracticeTrack(ws, None, None)
    try:
        state = track.mastery(person)
    except ValueError as exc:  # e.g. the labelled images practice tasks come from are gone
        logger.warning("mastery of %s: %s", person.name, exc)
        return Progress(person.name, 0.0, 0, READY, {}, None, pending, str(exc))
    skills = {s: state.p_learned(s) for s in sorted({a.skill for a in state.attempts})}
    return Progress(
        person.name,
        state.minutes,
        state.tasks_done,
        state.threshold,
        skills,
        state,
        pending,
        out_of_practice=track.out_of_practice(person, state),
    )


def peer_tips(ws: Workspace) -> list[dict]:
    """Every peer tip, newest first: who gave it, the skill, the task type and the words."""
    names = {a.id: a.name for a in ws.store.annotators()}
    tips = [{**tip, "name": names.get(tip["annotator_id"], "")} for tip in ws.store.peer_tips()]
    return tips[::-1]
