"""Mastery per trainee × skill by Bayesian Knowledge Tracing (Corbett & Anderson, 1995).

Each skill is either learned or not. Before any practice it is learned with probability
``prior`` (L0); after each practice attempt on it, an unlearned skill becomes learned with
probability ``learn`` (T; optionally one per task type, ``learn_by_type``). A learned skill
is answered wrongly with probability ``slip`` (S), an unlearned one rightly with ``guess`` (G).
After an answer:

- right:  P(L | c) = P(L)(1 − S) / [P(L)(1 − S) + (1 − P(L)) G]
- wrong:  P(L | w) = P(L) S / [P(L) S + (1 − P(L))(1 − G)]
- then    P(L′) = P(L | ·) + (1 − P(L | ·)) T

Task difficulty d in [0, 1] moves slip and guess around their base values: with
m = 1 + ``DIFFICULTY_SPREAD`` · (2d − 1), a task slips with S·m and is guessed with
G·(2 − m), so hard tasks are slipped more and guessed less, and over tasks of evenly spread
difficulty (as :func:`~hitl_active.workforce.practice.make_practice_tasks` ranks them) the
rates average S and G. A skill is *ready* when P(L) >= ``threshold`` (0.95).

Fitting the parameters from practice logs is in :mod:`hitl_active.workforce.bkt_fit`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np

from hitl_active.workforce.grading import Outcome
from hitl_active.workforce.practice import PracticeTask

__all__ = [
    "DIFFICULTY_SPREAD",
    "READY",
    "Attempt",
    "BKTParams",
    "Mastery",
    "bkt_update",
    "predict_success",
    "slip_guess",
]

READY = 0.95
DIFFICULTY_SPREAD = 0.5


@dataclass(frozen=True)
class BKTParams:
    """L0, T, S, G of one skill; ``learn_by_type`` overrides ``learn`` per task type."""

    prior: float = 0.1
    learn: float = 0.15
    slip: float = 0.1
    guess: float = 0.2
    learn_by_type: Mapping[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        values = {"prior": self.prior, "learn": self.learn, **dict(self.learn_by_type)}
        values |= {"slip": self.slip, "guess": self.guess}
        bad = {k: v for k, v in values.items() if not 0.0 <= v <= 1.0}
        if bad:
            raise ValueError(f"BKT parameters must lie in [0, 1], got {bad}")
        if self.slip * (1 + DIFFICULTY_SPREAD) >= 1 or self.guess * (1 + DIFFICULTY_SPREAD) >= 1:
            raise ValueError(
                f"slip and guess must be below {1 / (1 + DIFFICULTY_SPREAD):.3f} so that hard "
                f"tasks keep them below 1; got slip={self.slip}, guess={self.guess}"
            )

    def learn_for(self, task_type: str | None) -> float:
        return float(self.learn_by_type.get(task_type, self.learn)) if task_type else self.learn


def _multiplier(difficulty: float | np.ndarray | None) -> float | np.ndarray:
    if difficulty is None:
        return 1.0
    return 1.0 + DIFFICULTY_SPREAD * (2.0 * np.asarray(difficulty, dtype=np.float64) - 1.0)


def slip_guess(params: BKTParams, difficulty: float | None = None) -> tuple[float, float]:
    """Slip and guess on a task of ``difficulty`` (``None``: the base values)."""
    m = float(_multiplier(difficulty))
    return params.slip * m, params.guess * (2.0 - m)


def predict_success(p_learned: float, params: BKTParams, difficulty: float | None = None) -> float:
    """Chance of a right answer on a task of ``difficulty`` given P(L)."""
    s, g = slip_guess(params, difficulty)
    return p_learned * (1 - s) + (1 - p_learned) * g


def bkt_update(
    p_learned: float,
    correct: bool,
    params: BKTParams,
    *,
    task_type: str | None = None,
    difficulty: float | None = None,
) -> float:
    """P(L) after one graded attempt (the posterior, then the chance to learn)."""
    s, g = slip_guess(params, difficulty)
    if correct:
        post = p_learned * (1 - s) / (p_learned * (1 - s) + (1 - p_learned) * g)
    else:
        post = p_learned * s / (p_learned * s + (1 - p_learned) * (1 - g))
    t = params.learn_for(task_type)
    return post + (1 - post) * t


@dataclass(frozen=True)
class Attempt:
    """One graded attempt on one skill, as logged (and replayed to rebuild mastery)."""

    skill: str
    correct: bool
    task_type: str
    difficulty: float
    task_id: str = ""
    minutes: float = 0.0
    task_no: int = 0  # the trainee's n-th practice task (0-based)


class Mastery:
    """One trainee's mastery of every skill, updated attempt by attempt.

    ``params`` gives the BKT parameters per skill (skills missing from it use ``default``).
    ``attempts`` is the full log, oldest first; :meth:`replay` rebuilds a ``Mastery`` from it
    (with ``minutes`` and ``tasks_done``).
    """

    def __init__(
        self,
        trainee: str,
        params: Mapping[str, BKTParams] | None = None,
        *,
        default: BKTParams | None = None,
        threshold: float = READY,
    ) -> None:
        if not 0.0 < threshold < 1.0:
            raise ValueError(f"mastery threshold must lie in (0, 1), got {threshold}")
        self.trainee = trainee
        self.params = dict(params or {})
        self.default = default or BKTParams()
        self.threshold = threshold
        self.p: dict[str, float] = {}
        self.attempts: list[Attempt] = []
        self.minutes = 0.0
        self.tasks_done = 0

    def params_for(self, skill: str) -> BKTParams:
        return self.params.get(skill, self.default)

    def p_learned(self, skill: str) -> float:
        return self.p.get(skill, self.params_for(skill).prior)

    def ready(self, skill: str) -> bool:
        return self.p_learned(skill) >= self.threshold

    def ready_on(self, skills: Iterable[str]) -> bool:
        return all(self.ready(s) for s in skills)

    def predict(self, skill: str, difficulty: float | None = None) -> float:
        return predict_success(self.p_learned(skill), self.params_for(skill), difficulty)

    def add(self, attempt: Attempt) -> None:
        """Log one attempt and update its skill."""
        p = self.params_for(attempt.skill)
        self.p[attempt.skill] = bkt_update(
            self.p_learned(attempt.skill),
            attempt.correct,
            p,
            task_type=attempt.task_type,
            difficulty=attempt.difficulty,
        )
        self.attempts.append(attempt)

    def observe(self, task: PracticeTask, outcome: Outcome, minutes: float = 0.0) -> None:
        """Update from a graded practice task; ``minutes`` is the paid time it took."""
        if outcome.task_id != task.id:
            raise ValueError(f"outcome of {outcome.task_id} given with task {task.id}")
        share = minutes / max(len(outcome.correct), 1)
        for skill, ok in outcome.correct.items():
            kind, no = task.type.value, self.tasks_done
            self.add(Attempt(skill, ok, kind, task.difficulty, task.id, share, no))
        self.minutes += minutes
        self.tasks_done += 1

    @classmethod
    def replay(cls, trainee: str, attempts: Iterable[Attempt], **kw) -> Mastery:
        m = cls(trainee, **kw)
        for a in attempts:
            m.add(a)
            m.minutes += a.minutes
        m.tasks_done = len({a.task_no for a in m.attempts})
        return m

    def history(self, skill: str, task_type: str | None = None) -> list[bool]:
        """Right/wrong of the attempts on ``skill`` (of one task type if given), oldest first."""
        return [
            a.correct
            for a in self.attempts
            if a.skill == skill and (task_type is None or a.task_type == task_type)
        ]
