"""Routing a round's batch to annotators by skill, with overlap and gold honeypots.

A plan assigns every selected frame to one annotator (or to ``overlap_k`` of them for the
overlap share), hardest frames first: each goes to the annotator with the highest recall on
the frame's predicted classes who still has room, so the most uncertain frames reach the
people who handle those classes best. Frames in the easier half go to trainees first (their
practice on client work); trainees never get frames of the harder half, nor overlapped frames
(whose answers make a consensus). The caller passes only the people cleared for client work:
trainees only when a manager cleared them early (the training track makes a trainee an
annotator once ready). Each person's
load is capped at an even share of the round, so routing decides *which* frames someone gets,
not how much work (or pay) they get; it never decides pay.

Every annotator who gets work also gets ``honeypot_share`` of their queue as gold images
they have not seen, served like any task (the caller makes them indistinguishable).
Pure functions: the store, Label Studio and skills estimation sit above.
"""

from __future__ import annotations

import itertools
import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

__all__ = ["Assignment", "Frame", "Person", "plan_round"]

logger = logging.getLogger(__name__)

POOLED = -1  # key of the pooled (all classes) skill


@dataclass(frozen=True)
class Frame:
    """A selected image: its sampler score (higher is harder) and predicted classes."""

    image_id: int
    uncertainty: float
    classes: tuple[int, ...] = ()


@dataclass(frozen=True)
class Person:
    """An annotator as the router sees them: tier and recall per class (``None``: unknown).

    ``skill`` maps a class id (or ``POOLED``) to a recall estimate; ``capacity`` caps their
    tasks this round (``None``: an even share of the round).
    """

    name: str
    tier: str = "annotator"
    skill: Mapping[int, float | None] = field(default_factory=dict)
    capacity: int | None = None

    def skill_on(self, classes: Sequence[int], prior: float) -> float:
        """Mean known recall over ``classes``; else the pooled recall; else ``prior``."""
        known = [self.skill.get(c) for c in classes]
        values = [v for v in known if v is not None]
        if values:
            return float(np.mean(values))
        pooled = self.skill.get(POOLED)
        return prior if pooled is None else float(pooled)


@dataclass(frozen=True)
class Assignment:
    image_id: int
    annotator: str
    kind: str  # "task", "overlap" or "honeypot"


def _overlap_frames(n: int, share: float, rng: np.random.Generator) -> set[int]:
    """Positions (in hardness order) of the frames given to several people: spread over the
    ranking, so consensus covers hard and easy frames alike."""
    k = min(n, round(n * share)) if share > 0 else 0
    if share > 0 and n and k == 0:
        k = 1
    if not k:
        return set()
    edges = np.linspace(0, n, k + 1)
    bounds = [(int(lo), max(int(lo) + 1, int(hi))) for lo, hi in itertools.pairwise(edges)]
    return {int(rng.integers(lo, hi)) for lo, hi in bounds}


def plan_round(
    frames: Sequence[Frame],
    people: Sequence[Person],
    gold_ids: Sequence[int] = (),
    seen: Mapping[str, set[int]] | None = None,
    *,
    overlap_share: float = 0.1,
    overlap_k: int = 3,
    honeypot_share: float = 0.1,
    rng: np.random.Generator,
) -> list[Assignment]:
    """Who annotates which frame this round, and which gold images each person is served.

    ``seen`` holds, per person, the image ids they were given before (nobody gets an image
    twice). Raises ValueError when there is nobody to route to.
    """
    if not people:
        raise ValueError(
            "no annotators to route to; add them with `hitl-active annotators add NAME --email E`"
        )
    if not 0 <= honeypot_share < 1 or not 0 <= overlap_share <= 1:
        raise ValueError("honeypot_share must be in [0, 1) and overlap_share in [0, 1]")
    seen = {p.name: set((seen or {}).get(p.name, ())) for p in people}
    order = sorted(frames, key=lambda f: (-f.uncertainty, f.image_id))
    workers = [p for p in people if p.tier != "trainee"] or list(people)
    k = max(1, min(overlap_k, len(workers)))
    overlap = _overlap_frames(len(order), overlap_share, rng) if k > 1 else set()
    slots = len(order) + len(overlap) * (k - 1)
    even = math.ceil(slots / len(people))
    room = {p.name: even if p.capacity is None else min(even, p.capacity) for p in people}
    known = [p.skill.get(POOLED) for p in people]
    prior = float(np.median([v for v in known if v is not None])) if any(known) else 0.5
    easy_from = len(order) // 2
    plan: list[Assignment] = []
    for pos, frame in enumerate(order):
        wanted = k if pos in overlap else 1
        easy = pos >= easy_from
        chosen: list[Person] = []
        for _ in range(wanted):
            free = [
                p for p in people
                if room[p.name] > 0 and frame.image_id not in seen[p.name] and p not in chosen
                and (p.tier != "trainee" or (easy and wanted == 1))
            ]  # fmt: skip
            if not free:
                break
            trainees = [p for p in free if p.tier == "trainee"] if easy and not chosen else []
            pick = max(
                trainees or free,
                key=lambda p: (p.skill_on(frame.classes, prior), room[p.name], p.name),
            )
            chosen.append(pick)
            room[pick.name] -= 1
            seen[pick.name].add(frame.image_id)
        if not chosen:
            logger.warning("frame %d: every annotator is full or saw it; left out", frame.image_id)
        kind = "overlap" if len(chosen) > 1 else "task"
        plan.extend(Assignment(frame.image_id, p.name, kind) for p in chosen)
    plan.extend(_honeypots(plan, people, gold_ids, seen, honeypot_share, rng))
    return plan


def _honeypots(
    plan: list[Assignment],
    people: Sequence[Person],
    gold_ids: Sequence[int],
    seen: Mapping[str, set[int]],
    share: float,
    rng: np.random.Generator,
) -> list[Assignment]:
    if share <= 0 or not gold_ids:
        return []
    out = []
    for p in people:
        tasks = sum(a.annotator == p.name for a in plan)
        if not tasks:
            continue
        want = max(1, round(tasks * share / (1 - share)))
        fresh = [g for g in gold_ids if g not in seen[p.name]]
        if len(fresh) < want:
            logger.warning(
                "%s: %d gold images left unseen, %d wanted as honeypots; add gold images",
                p.name, len(fresh), want,
            )  # fmt: skip
        for g in rng.permutation(fresh)[:want]:
            out.append(Assignment(int(g), p.name, "honeypot"))
    return out
