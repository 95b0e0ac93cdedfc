"""What the workspace knows about its annotators: the one bridge from the state store to the
workforce estimators (:mod:`hitl_active.workforce`).

Every live answer by a known annotator (an ``annotators`` record found by the Label Studio
user's e-mail) becomes an :class:`~hitl_active.workforce.records.Answer` keyed by the image
path, with the pre-label its task started from. Answers to honeypot assignments are scored
against the gold truth (:func:`hitl_active.loop.truth.gold_truths`), leaving out gold items
the annotator contests until a reviewer decides; images answered by two or more people give
the estimates without gold and the pairwise agreement; both give the flags for review.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import combinations
from typing import TYPE_CHECKING, Any

import numpy as np

from hitl_active.formats.core import ImageLabels
from hitl_active.loop.backends import _as_labels
from hitl_active.loop.truth import gold_truths
from hitl_active.store.rows import ImageRow, boxes_to_labels
from hitl_active.store.store_team import AnnotatorRow, AssignmentRow
from hitl_active.workforce.consensus import pairwise_agreement
from hitl_active.workforce.contest import ContestStatus, GoldContest, excluded
from hitl_active.workforce.flags import flag_skills, flag_spammers
from hitl_active.workforce.gold import ALL, score_gold
from hitl_active.workforce.latent import estimate_without_gold
from hitl_active.workforce.records import Answer, by_image
from hitl_active.workforce.report import annotator_report
from hitl_active.workforce.routing import POOLED
from hitl_active.workspace.workspace import Workspace

if TYPE_CHECKING:  # the estimators load scipy: imported where they are used
    from hitl_active.workforce.flags import Flag
    from hitl_active.workforce.gold import AnnotatorSkill
    from hitl_active.workforce.latent import LatentSkill
    from hitl_active.workforce.stats import Estimate

__all__ = [
    "POOLED",
    "AnnotatorSummary",
    "TeamSkills",
    "annotator_view",
    "answers_from_store",
    "gold_by_path",
    "gold_contests",
    "recall_by_round",
    "routing_skill",
    "team_skills",
]

logger = logging.getLogger(__name__)

_STATUS = {
    "open": ContestStatus.CONTESTED,
    "upheld": ContestStatus.UPHELD,
    "corrected": ContestStatus.CORRECTED,
}


@dataclass(frozen=True)
class _Record:
    answer: Answer
    image: ImageRow
    assignment: AssignmentRow | None

    @property
    def honeypot(self) -> bool:
        return self.assignment is not None and self.assignment.kind == "honeypot"


@dataclass(frozen=True)
class AnnotatorSummary:
    """The manager's line about one annotator (``honeypots`` is never shown to them)."""

    name: str
    tier: str
    tasks: int
    honeypots: int
    hours: float
    agreement: float | None  # mean F1 at IoU 0.5 with the others on images they shared


@dataclass(frozen=True)
class TeamSkills:
    """Everything measured about the team; ``people`` in the order they were recorded."""

    class_names: list[str]
    people: dict[str, AnnotatorSummary]
    gold: dict[str, AnnotatorSkill]
    latent: dict[str, LatentSkill]
    agreement: float | None  # team mean of Label Studio Enterprise's task agreement
    flags: list[Flag]
    contested: frozenset[tuple[str, str]]  # (annotator, image) left out until reviewed

    def flags_of(self, name: str) -> list[Flag]:
        return [f for f in self.flags if f.annotator == name]


def _seconds(lead_time: float | None) -> float | None:
    ok = lead_time is not None and math.isfinite(lead_time) and lead_time >= 0
    return float(lead_time) if ok else None


def _prelabel(ws: Workspace, img: ImageRow, version: str | None) -> ImageLabels | None:
    """What the task showed: ``version``'s boxes above the workspace's threshold."""

    if version is None:
        return None
    return _as_labels(img, ws.store.prediction(version, img.id), ws.config.conf_threshold)


def _records(ws: Workspace) -> list[_Record]:
    """The newest live answer of each (annotator, image), in the order recorded."""
    store = ws.store
    images = {img.id: img for img in store.images()}
    by_task = {a.ls_task_id: a for a in store.assignments() if a.ls_task_id is not None}
    people: dict[str, AnnotatorRow | None] = {}
    latest: dict[tuple[str, int], tuple[Any, AnnotatorRow]] = {}
    for ann in sorted(store.answers(), key=lambda r: (r.recorded_at, r.id)):
        if not ann.annotator:
            continue
        if ann.annotator not in people:
            people[ann.annotator] = store.annotator(ann.annotator)
        who = people[ann.annotator]
        if who is None:
            continue
        key = (who.name, ann.image_id)
        latest.pop(key, None)  # a later answer of the same person moves to its place in order
        latest[key] = (ann, who)
    versions: dict[int, str | None] = {}
    shown: dict[tuple[str | None, int], ImageLabels | None] = {}  # overlap and honeypots repeat
    out = []
    for ann, who in latest.values():
        img = images[ann.image_id]
        assignment = by_task.get(ann.ls_task_id)
        if assignment is not None and assignment.round_id is not None:
            rid = assignment.round_id
            if rid not in versions:
                versions[rid] = store.round(rid).model_version
            version = versions[rid]
        else:
            task = None if ann.ls_task_id is None else store.task_by_ls_id(ann.ls_task_id)
            version = None if task is None else task.prediction_model_version
        labels = boxes_to_labels(img.path, img.width, img.height, ann.boxes)
        if (version, img.id) not in shown:
            shown[version, img.id] = _prelabel(ws, img, version)
        pre = shown[version, img.id]
        out.append(_Record(Answer(who.name, labels, pre, _seconds(ann.lead_time)), img, assignment))
    return out


def answers_from_store(ws: Workspace) -> list[Answer]:
    """Every live answer by a known annotator (their newest per image), in the order recorded;
    ``annotator`` is the annotator record's name and ``labels.image`` the image path."""
    return [r.answer for r in _records(ws)]


def gold_contests(ws: Workspace) -> list[GoldContest]:
    """The store's gold contests as :class:`~hitl_active.workforce.contest.GoldContest`."""
    store = ws.store
    names = {a.id: a.name for a in store.annotators()}
    out = []
    contests = store.contests()
    images = store.images_by_id(c.image_id for c in contests)
    for c in contests:
        img = images[c.image_id]
        corrected = None
        if c.corrected is not None:
            corrected = boxes_to_labels(img.path, img.width, img.height, c.corrected)
        status = _STATUS[c.status]
        out.append(
            GoldContest(names[c.annotator_id], img.path, c.reason, status, c.reviewer, corrected)
        )
    return out


def gold_by_path(ws: Workspace) -> dict[str, ImageLabels]:
    """The gold truth per image path (:func:`hitl_active.loop.truth.gold_truths`)."""

    return {img.path: labels for img, labels in gold_truths(ws)}


def _score(
    records: Sequence[_Record], gold: dict[str, ImageLabels], skip: set[tuple[str, str]]
) -> dict[str, AnnotatorSkill]:

    return score_gold([r.answer for r in records if r.honeypot], gold, exclude=skip)


def _agreement(answers: Sequence[Answer]) -> tuple[float | None, dict[str, float]]:
    """Team mean of per-image agreement, and each annotator's mean F1 with the others."""

    per_image, mine = [], {}
    for group in by_image(answers).values():
        if len(group) < 2:
            continue
        per_image.append(pairwise_agreement(group))
        for x, y in combinations(group, 2):
            f1 = pairwise_agreement([x, y])
            for who in (x.annotator, y.annotator):
                mine.setdefault(who, []).append(f1)
    team = float(np.mean(per_image)) if per_image else None
    return team, {who: float(np.mean(v)) for who, v in mine.items()}


def team_skills(ws: Workspace, rng_seed: int = 0) -> TeamSkills:
    """Gold scores, overlap estimates, agreement, flags and workload of every annotator.

    ``rng_seed`` seeds the bootstrap of the overlap box-noise intervals.
    """

    records = _records(ws)
    gold = gold_by_path(ws)
    skip = excluded(gold_contests(ws))
    scored = _score(records, gold, skip)
    answers = [r.answer for r in records]
    kept = [a for a in answers if (a.annotator, a.image) not in skip]
    # skill without gold and agreement rest on overlapped client tasks only: honeypots that
    # several people answered are gold's business, and must not show up as "shared images"
    overlap = [r.answer for r in records if not r.honeypot]
    n_classes = len(ws.config.classes)
    latent = estimate_without_gold(overlap, n_classes, rng=np.random.default_rng(rng_seed))
    team, mine = _agreement(overlap)
    flags = flag_skills(scored) + flag_spammers(kept, gold)
    people = {}
    for row in ws.store.annotators():
        own = [r for r in records if r.answer.annotator == row.name]
        secs = sum(r.answer.seconds or 0.0 for r in own)
        people[row.name] = AnnotatorSummary(
            row.name, row.tier, len(own), sum(r.honeypot for r in own), secs / 3600.0,
            mine.get(row.name),
        )  # fmt: skip
    logger.debug("team skills of %d annotators from %d answers", len(people), len(records))
    names = list(ws.config.classes)
    return TeamSkills(names, people, scored, latent, team, flags, frozenset(skip))


def routing_skill(ws: Workspace) -> dict[str, dict[int, float | None]]:
    """Per annotator name, per class id, gold recall for routing; the pooled figure under
    :data:`POOLED` (-1). Every annotator record is present.

    Routing uses whatever gold evidence there is: the posterior mean of recall under a
    uniform prior, ``(1 + found) / (2 + objects)``, which leans to 0.5 while evidence is thin
    (reports say "not enough data" below the minimum count instead); ``None`` with no gold
    object at all.
    """
    scored = _score(_records(ws), gold_by_path(ws), excluded(gold_contests(ws)))
    keys = [*range(len(ws.config.classes)), POOLED]
    out: dict[str, dict[int, float | None]] = {}
    for row in ws.store.annotators():
        s = scored.get(row.name)
        out[row.name] = {}
        for c in keys:
            counts = s.per_class[c].counts if s and c in s.per_class else None
            known = counts is not None and counts.objects > 0
            out[row.name][c] = (1 + counts.found) / (2 + counts.objects) if known else None
    return out


def recall_by_round(ws: Workspace, name: str) -> list[tuple[int, Estimate]]:
    """``(round id, recall over every class)`` of ``name`` on the gold items of each round
    they answered any, oldest first: the trend of their skill (contested items left out)."""

    skip = excluded(gold_contests(ws))
    gold = gold_by_path(ws)
    mine: dict[int, list[_Record]] = {}
    for r in _records(ws):
        if r.answer.annotator == name and r.honeypot and r.assignment.round_id is not None:
            mine.setdefault(r.assignment.round_id, []).append(r)
    out = []
    for rid in sorted(mine):
        s = _score(mine[rid], gold, skip).get(name)
        if s is not None and ALL in s.per_class:
            out.append((rid, s.per_class[ALL].recall))
    return out


def _countless(x: Any) -> Any:
    """``x`` with every estimate's count ``n`` left out, and "not enough data" without the
    count it names."""
    if isinstance(x, list):
        return [_countless(v) for v in x]
    if not isinstance(x, dict):
        return x
    out = {k: _countless(v) for k, v in x.items() if k != "n"}
    if "n" in x and x.get("reason"):
        out["reason"] = "not enough data yet"
    return out


def annotator_view(ws: Workspace, name: str, skills: TeamSkills | None = None) -> dict:
    """Every figure about one annotator, for them to see: their skill with intervals, what
    overlap says, their flags with evidence, tasks and hours. No gold item is named, nor how
    many of their tasks were gold, nor anyone else's figures."""

    row = ws.store.annotator(name)
    if row is None:
        raise ValueError(f"no annotator {name!r}; `hitl-active annotators` lists them")
    skills = skills or team_skills(ws)
    classes = dict(enumerate(skills.class_names))
    view = annotator_report(row.name, skills.gold, skills.latent, skills.flags, classes)
    if view["gold"] is not None:
        view["gold"].pop("images", None)  # the count of honeypots they answered
        view["gold"] = _countless(view["gold"])  # each figure's n: their gold objects
    # a flag's evidence without its count: on gold figures, how many gold objects they had
    for shown, flag in zip(view["flags"], skills.flags_of(row.name), strict=True):
        shown["estimate"] = _countless(shown["estimate"])
        shown["message"] = flag.message(counts=False)
    me = skills.people[row.name]
    hours = round(me.hours, 3)
    return {**view, "tier": row.tier, "tasks": me.tasks, "hours": hours, "agreement": me.agreement}
