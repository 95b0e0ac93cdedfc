"""Simulated trainees with planted learning, to validate the training track.

A :class:`LearnerProfile` plants, per skill, the chance it is known from the start (L0), its
slip and guess rates, and per task type × skill the chance that one practice task of that
type teaches the skill (the planted "which task type teaches which skill" matrix; zero where
the type does not exercise the skill). A :class:`SimulatedLearner` holds a hidden
learned/unlearned state per skill. On a practice task it decides, per skill the task grades,
whether it answers that part rightly (1 − slip if learned, guess if not, both moved by the
task's difficulty as in :func:`hitl_active.workforce.mastery.slip_guess`), builds an
:class:`~hitl_active.formats.core.ImageLabels` answer with exactly those mistakes (a missed
object, a loose box, a wrong class, a wrong box kept), then may learn each skill. Grading
that answer with :func:`hitl_active.workforce.grading.grade` gives back its decisions.

Minutes per task come from per-action times (opening, drawing, verifying, deleting boxes,
reading the feedback), jittered log-normally. The simulation validates the estimators and
the curriculum, not human learning.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from hitl_active.bench.simulated_annotator import ActionTimes
from hitl_active.boxes import box_iou, match_boxes
from hitl_active.formats.core import ImageLabels
from hitl_active.workforce.mastery import BKTParams, slip_guess
from hitl_active.workforce.practice import PracticeTask, TaskType, shrink_box

__all__ = ["LearnerProfile", "SimulatedLearner"]


@dataclass(frozen=True)
class LearnerProfile:
    """Planted learning. ``learn`` is ``(len(types), len(skills))``."""

    skills: tuple[str, ...]
    types: tuple[str, ...]
    prior: np.ndarray
    learn: np.ndarray
    slip: np.ndarray
    guess: np.ndarray
    times: ActionTimes = field(default_factory=ActionTimes)
    adjust_s: float = 6.0  # tightening one box
    choose_s: float = 3.0  # picking a class
    feedback_s: float = 20.0  # reading the feedback after submitting

    def __post_init__(self) -> None:
        n, k = len(self.skills), len(self.types)
        shapes = [np.shape(v) for v in (self.prior, self.slip, self.guess)]
        if shapes != [(n,)] * 3 or np.shape(self.learn) != (k, n):
            raise ValueError(f"need prior, slip, guess of ({n},) and learn of ({k}, {n})")

    @classmethod
    def plant(cls, tasks: Sequence[PracticeTask], rng: np.random.Generator, **kw) -> LearnerProfile:
        """Random planted learning over the skills and task types of ``tasks``: per skill,
        one best type teaches with chance U(0.25, 0.4) per task, the others U(0.02, 0.08);
        L0 ~ U(0.05, 0.15), slip ~ U(0.05, 0.15), guess ~ U(0.1, 0.25)."""
        skills = tuple(sorted({s for t in tasks for s in t.skills}))
        types = tuple(t.value for t in TaskType if any(x.type is t for x in tasks))
        learn = np.zeros((len(types), len(skills)))
        for j, s in enumerate(skills):
            rows = [types.index(t.type.value) for t in tasks if s in t.skills]
            rows = sorted(set(rows))
            learn[rows, j] = rng.uniform(0.02, 0.08, len(rows))
            learn[rows[int(rng.integers(len(rows)))], j] = rng.uniform(0.25, 0.4)
        n = len(skills)
        return cls(
            skills,
            types,
            prior=rng.uniform(0.05, 0.15, n),
            learn=learn,
            slip=rng.uniform(0.05, 0.15, n),
            guess=rng.uniform(0.1, 0.25, n),
            **kw,
        )

    def params(self, skill: str) -> BKTParams:
        """The planted BKT parameters of ``skill`` (learn per type where it teaches)."""
        j = self.skills.index(skill)
        by_type = {t: float(self.learn[k, j]) for k, t in enumerate(self.types) if self.learn[k, j]}
        return BKTParams(
            float(self.prior[j]),
            float(np.mean(list(by_type.values()))),
            float(self.slip[j]),
            float(self.guess[j]),
            by_type,
        )

    def best_type(self, skill: str) -> str:
        return self.types[int(np.argmax(self.learn[:, self.skills.index(skill)]))]

    def minutes(self, task: PracticeTask, rng: np.random.Generator) -> float:
        """Paid minutes for ``task``: opening, the type's actions, reading the feedback."""
        t, n = self.times, len(task.targets)
        kind = task.type
        if kind is TaskType.VERIFY:
            secs = t.verify_s * len(task.shown) + t.delete_s * 2
        elif kind is TaskType.FIX_BOXES:
            secs = self.adjust_s * n
        elif kind is TaskType.CHOOSE_CLASS:
            secs = self.choose_s
        elif kind is TaskType.CONFUSABLE_PAIR:
            secs = (t.draw_s + self.choose_s) * n
        elif kind is TaskType.SMALL_OBJECTS:
            secs = 1.5 * t.draw_s * n
        else:  # draw_one, find_all, crowded
            secs = t.draw_s * n + (5.0 if kind is not TaskType.DRAW_ONE else 0.0)
        secs += t.open_s + self.feedback_s
        return float(secs * rng.lognormal(0.0, 0.25) / 60.0)


class SimulatedLearner:
    """One simulated trainee; randomness comes only from the generators passed in."""

    def __init__(self, name: str, profile: LearnerProfile, rng: np.random.Generator) -> None:
        self.name = name
        self.profile = profile
        self.taught_by: dict[str, str] = {}
        self.learned = {
            s: bool(rng.random() < p) for s, p in zip(profile.skills, profile.prior, strict=True)
        }

    def tip(self, rng: np.random.Generator, noise: float = 0.3) -> dict[str, str]:
        """Peer tips "this task type helped me with X": per skill learned in practice, the
        type that taught it, or (with probability ``noise``) a type remembered wrongly."""
        out = {}
        for skill, kind in self.taught_by.items():
            if rng.random() < noise:
                j = self.profile.skills.index(skill)
                kinds = [t for i, t in enumerate(self.profile.types) if self.profile.learn[i, j]]
                kind = kinds[int(rng.integers(len(kinds)))]
            out[skill] = kind
        return out

    def decide(self, task: PracticeTask, rng: np.random.Generator) -> dict[str, bool]:
        """Right or wrong on each skill the task grades, from the hidden state."""
        out = {}
        for s in task.skills:
            slip, guess = slip_guess(self.profile.params(s), task.difficulty)
            out[s] = bool(rng.random() < ((1 - slip) if self.learned[s] else guess))
        return out

    def learn(self, task: PracticeTask, rng: np.random.Generator) -> None:
        k = self.profile.types.index(task.type.value)
        for s in task.skills:
            t = self.profile.learn[k, self.profile.skills.index(s)]
            if not self.learned[s] and rng.random() < t:
                self.learned[s] = True
                self.taught_by[s] = task.type.value

    def attempt(
        self, task: PracticeTask, rng: np.random.Generator
    ) -> tuple[ImageLabels, float, dict[str, bool]]:
        """Answer ``task``: the labels, the paid minutes, and the planted right/wrong per
        skill (what grading the answer must find). Then practice may teach the skills."""
        intended = self.decide(task, rng)
        answer = build_answer(task, intended, rng)
        minutes = self.profile.minutes(task, rng)
        self.learn(task, rng)
        return answer, minutes, intended


def _tight(box: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    return shrink_box(box, rng.uniform(0.9, 1.0), rng)


def build_answer(
    task: PracticeTask, right: dict[str, bool], rng: np.random.Generator
) -> ImageLabels:
    """An answer to ``task`` that is right exactly on the skills ``right`` marks True."""
    truth, shown, kind = task.truth, task.shown, task.type
    if kind is TaskType.VERIFY:
        pairs = match_boxes(box_iou(shown.xyxy, truth.xyxy), 0.5, "hungarian")
        good = {i for i, j in pairs if shown.class_id[i] == truth.class_id[j]}
        keep = set(good)
        if not right["verify"]:
            keep ^= {int(rng.integers(len(shown)))}  # delete a right box or keep a wrong one
        idx = sorted(keep)
        return _out(truth, shown.xyxy[idx], shown.class_id[idx])
    targets = list(task.targets)
    boxes = {j: _tight(truth.xyxy[j], rng) for j in targets}
    classes = {j: int(truth.class_id[j]) for j in targets}
    recall = [
        s for s in task.skills if s.startswith("recall:") or s in ("small_objects", "crowded")
    ]
    if recall and not right[recall[0]]:
        del boxes[int(rng.choice(targets))]
    if "box_tightness" in right and not right["box_tightness"]:
        j = int(rng.choice(list(boxes)))
        boxes[j] = shrink_box(truth.xyxy[j], rng.uniform(0.55, 0.8), rng)
    label = [s for s in task.skills if s.startswith("label:")]
    if label and not right[label[0]]:
        j = int(rng.choice(list(boxes)))
        a, b = task.choices
        classes[j] = b if classes[j] == a else a
    if kind is TaskType.CHOOSE_CLASS:
        boxes = {j: shown.xyxy[0] for j in boxes}
    xyxy = [boxes[j] for j in boxes] + list(shown.xyxy if kind is not TaskType.CHOOSE_CLASS else [])
    cls = [classes[j] for j in boxes] + (
        shown.class_id.tolist() if kind is not TaskType.CHOOSE_CLASS else []
    )
    if kind is TaskType.FIX_BOXES:  # the loose shown boxes are replaced, not kept
        xyxy, cls = xyxy[: len(boxes)], cls[: len(boxes)]
    return _out(truth, xyxy, cls)


def _out(truth: ImageLabels, xyxy, class_id) -> ImageLabels:
    xyxy = np.asarray(xyxy, dtype=np.float64).reshape(-1, 4)
    return ImageLabels(truth.image, truth.width, truth.height, xyxy, np.asarray(class_id, np.int64))
