"""Choosing a trainee's next practice task: the adaptive curriculum and two baselines.

Every policy answers ``next_task(state, tasks, rng)`` (``None`` once the trainee is ready on
every skill the tasks grade) and hears each graded task through ``observe``:

- ``adaptive``: the weakest skill (lowest P(L)) among those not ready whose prerequisites
  are ready; its task type drawn by a :class:`TypeBandit`; among that type's tasks, one
  whose predicted success on the skill lies in ``band`` (0.60–0.85), else the nearest to it
  (a skill just begun is below the band on every task: the easiest is chosen, and the
  reason says so);
- ``fixed``: every task in one easy → hard order (by difficulty), over and over;
- ``random``: any task, uniformly.

The bandit learns, across trainees, which task type builds which skill (ZPDES-style,
Clement et al. 2015). Its reward is learning progress: after an attempt on a skill with
task type *k*, the success rate of the trainee's next ``window`` attempts on the skill minus
that of the ``window`` attempts up to and including it, credited to *k*. Rewards r in
[−1, 1] enter a Beta(α, β) per skill × type as α += (1 + r)/2, β += (1 − r)/2; a peer
tip ("this task type helped me with X") adds ``tip_weight`` to α. Types are drawn by
Thompson sampling; :meth:`TypeBandit.best` is the type with the highest posterior mean.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from hitl_active.workforce.grading import Outcome
from hitl_active.workforce.mastery import Mastery
from hitl_active.workforce.practice import CROWDED, SMALL_OBJECTS, PracticeTask

__all__ = [
    "POLICIES",
    "AdaptivePolicy",
    "Choice",
    "FixedPolicy",
    "Policy",
    "RandomPolicy",
    "TypeBandit",
    "default_prerequisites",
    "make_policy",
]

logger = logging.getLogger(__name__)


def default_prerequisites(skills: Iterable[str]) -> dict[str, tuple[str, ...]]:
    """Telling ``a`` from ``b`` needs finding both; small objects and crowded scenes need
    finding every class; the rest need nothing."""
    skills = sorted(set(skills))
    recall = tuple(s for s in skills if s.startswith("recall:"))
    out: dict[str, tuple[str, ...]] = {}
    for s in skills:
        if s.startswith("label:"):
            out[s] = tuple(f"recall:{c}" for c in s[6:].split("|") if f"recall:{c}" in recall)
        elif s in (SMALL_OBJECTS, CROWDED):
            out[s] = recall
        else:
            out[s] = ()
    return out


class TypeBandit:
    """Beta evidence per skill × task type that practising the type brings progress on the
    skill, shared by all trainees."""

    def __init__(self, window: int = 1, tip_weight: float = 1.0) -> None:
        if window < 1 or tip_weight < 0:
            raise ValueError(f"need window >= 1 and tip_weight >= 0, got {window}, {tip_weight}")
        self.window = window
        self.tip_weight = tip_weight
        self.alpha: dict[tuple[str, str], float] = {}
        self.beta: dict[tuple[str, str], float] = {}
        self.rewards: dict[tuple[str, str], int] = {}

    def _ab(self, skill: str, task_type: str) -> tuple[float, float]:
        key = (skill, task_type)
        return 1.0 + self.alpha.get(key, 0.0), 1.0 + self.beta.get(key, 0.0)

    def reward(self, skill: str, task_type: str, progress: float) -> None:
        r = float(np.clip(progress, -1.0, 1.0))
        key = (skill, task_type)
        self.alpha[key] = self.alpha.get(key, 0.0) + (1 + r) / 2
        self.beta[key] = self.beta.get(key, 0.0) + (1 - r) / 2
        self.rewards[key] = self.rewards.get(key, 0) + 1

    def add_tip(self, skill: str, task_type: str, weight: float | None = None) -> None:
        """A peer's "this task type helped me with ``skill``": prior evidence for the type."""
        key = (skill, task_type)
        self.alpha[key] = self.alpha.get(key, 0.0) + (self.tip_weight if weight is None else weight)

    def mean(self, skill: str, task_type: str) -> float:
        a, b = self._ab(skill, task_type)
        return a / (a + b)

    def best(self, skill: str, types: Iterable[str]) -> str:
        return max(sorted(types), key=lambda t: self.mean(skill, t))

    def choose(self, skill: str, types: Iterable[str], rng: np.random.Generator) -> str:
        types = sorted(set(types))
        draws = [rng.beta(*self._ab(skill, t)) for t in types]
        return types[int(np.argmax(draws))]

    def update(self, state: Mastery, outcome: Outcome) -> None:
        """Credit the progress that the trainee's newest attempts reveal (call after
        ``state.observe``)."""
        k = self.window
        for skill in outcome.correct:
            attempts = [a for a in state.attempts if a.skill == skill]
            t = len(attempts) - 1 - k  # the attempt whose type is credited now
            if t - k + 1 < 0:
                continue
            after = np.mean([a.correct for a in attempts[t + 1 : t + 1 + k]])
            before = np.mean([a.correct for a in attempts[t - k + 1 : t + 1]])
            self.reward(skill, attempts[t].task_type, float(after - before))


@dataclass(frozen=True)
class Choice:
    task: PracticeTask
    skill: str | None
    reason: str


class Policy:
    """Chooses practice tasks. Subclasses write :meth:`choose`."""

    name = "policy"

    def choose(
        self, state: Mastery, tasks: Sequence[PracticeTask], rng: np.random.Generator
    ) -> Choice | None:
        raise NotImplementedError

    def next_task(
        self, state: Mastery, tasks: Sequence[PracticeTask], rng: np.random.Generator
    ) -> PracticeTask | None:
        """The next task, or ``None`` when ``state`` is ready on every skill of ``tasks``."""
        if not tasks:
            raise ValueError("no practice tasks to choose from; make them from labelled images")
        if state.ready_on({s for t in tasks for s in t.skills}):
            return None
        choice = self.choose(state, tasks, rng)
        return choice.task if choice else None

    def observe(self, state: Mastery, task: PracticeTask, outcome: Outcome) -> None:
        """Hear a graded task (after ``state.observe(task, outcome)``)."""


class RandomPolicy(Policy):
    name = "random"

    def choose(self, state, tasks, rng):
        return Choice(tasks[int(rng.integers(len(tasks)))], None, "drawn at random")


class FixedPolicy(Policy):
    name = "fixed"

    def choose(self, state, tasks, rng):
        order = sorted(tasks, key=lambda t: (t.difficulty, t.id))
        task = order[state.tasks_done % len(order)]
        return Choice(task, None, f"next in the easy-to-hard order ({state.tasks_done + 1})")


class AdaptivePolicy(Policy):
    name = "adaptive"

    def __init__(
        self,
        bandit: TypeBandit | None = None,
        prerequisites: Mapping[str, Sequence[str]] | None = None,
        band: tuple[float, float] = (0.60, 0.85),
        avoid_recent: int = 20,
    ) -> None:
        if not 0.0 <= band[0] <= band[1] <= 1.0:
            raise ValueError(f"band must be (low, high) within [0, 1], got {band}")
        self.bandit = bandit or TypeBandit()
        self.prerequisites = prerequisites
        self.band = band
        self.avoid_recent = avoid_recent

    def target_skill(self, state: Mastery, skills: Iterable[str]) -> str | None:
        skills = sorted(set(skills))
        prereq = self.prerequisites or default_prerequisites(skills)
        open_ = [s for s in skills if not state.ready(s)]
        eligible = [s for s in open_ if all(state.ready(p) for p in prereq.get(s, ()))] or open_
        return min(eligible, key=state.p_learned) if eligible else None

    def choose(self, state, tasks, rng):
        skill = self.target_skill(state, {s for t in tasks for s in t.skills})
        if skill is None:
            return None
        recent = {a.task_id for a in state.attempts[-self.avoid_recent :]}
        mine = [t for t in tasks if skill in t.skills]
        mine = [t for t in mine if t.id not in recent] or mine
        kind = self.bandit.choose(skill, {t.type.value for t in mine}, rng)
        mine = [t for t in mine if t.type.value == kind]
        p = np.array([state.predict(skill, t.difficulty) for t in mine])
        lo, hi = self.band
        gap = np.maximum(lo - p, 0.0) + np.maximum(p - hi, 0.0)
        best = np.flatnonzero(gap <= gap.min() + 1e-12)
        task = mine[int(rng.choice(best))]
        success = state.predict(skill, task.difficulty)
        reason = (
            f"{skill} is your weakest open skill (mastery {state.p_learned(skill):.2f}); "
            f"{kind} tasks build it; predicted success {success:.2f}"
        )
        if success < lo:  # a new skill: even the easiest task is harder than the aim
            reason += f" (the easiest there is; tasks aim at {lo:.2f}–{hi:.2f} as you learn)"
        elif success > hi:
            reason += f" (the hardest there is; tasks aim at {lo:.2f}–{hi:.2f})"
        return Choice(task, skill, reason)

    def observe(self, state, task, outcome):
        self.bandit.update(state, outcome)


POLICIES: dict[str, type[Policy]] = {p.name: p for p in (AdaptivePolicy, FixedPolicy, RandomPolicy)}


def make_policy(name: str, **kw) -> Policy:
    """A policy by name (``adaptive``, ``fixed`` or ``random``)."""
    if name not in POLICIES:
        raise ValueError(f"unknown practice policy {name!r}; choose from {', '.join(POLICIES)}")
    return POLICIES[name](**kw)
