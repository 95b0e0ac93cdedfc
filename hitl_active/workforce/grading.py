"""Grading a practice answer: right or wrong per skill, and the feedback the trainee sees.

A found object is a true object matched one-to-one (Hungarian, IoU >= ``min_iou``) by an
answer box, whatever its label. Per skill graded by the task (see
:mod:`hitl_active.workforce.practice`):

- ``verify``: every shown box that is right (same class as a true object, IoU >= ``min_iou``)
  is kept and every wrong one deleted; a shown box counts as kept when an answer box of the
  same class overlaps it at IoU >= ``kept_iou``;
- ``recall:<c>``, ``small_objects``, ``crowded``: every target object is found;
- ``box_tightness``: every found target object's box has IoU >= ``tight_iou``;
- ``label:<a>|<b>``: every found target object is labelled with its true class.

Feedback lists what went wrong, each item with the true box to draw: missed objects, loose
boxes with their IoU, wrong classes, right boxes deleted and wrong boxes kept.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from hitl_active.boxes import box_iou, match_boxes
from hitl_active.formats.core import ImageLabels
from hitl_active.i18n import N_
from hitl_active.workforce.practice import (
    BOX_TIGHTNESS,
    CROWDED,
    SMALL_OBJECTS,
    VERIFY,
    PracticeTask,
    TaskType,
)

__all__ = ["FEEDBACK", "Feedback", "Outcome", "feedback_text", "grade"]


#: Each kind of feedback's words (``%(name)s`` the values; marked for the catalogues).
FEEDBACK = {
    "wrongly_kept": N_("this %(cls)s box is wrong and should have been deleted"),
    "wrongly_deleted": N_("this %(cls)s box was right and should have been kept"),
    "missed": N_("a %(cls)s here was not boxed"),
    "loose": N_("this %(cls)s box is loose (IoU %(iou)s, aim for %(aim)s)"),
    "wrong_class": N_("this is a %(cls)s, not a %(answered)s"),
}


@dataclass(frozen=True)
class Feedback:
    """One thing the trainee got wrong. ``box`` is the true box (or the shown box for
    ``wrongly_kept``); ``kind`` is ``missed``, ``loose``, ``wrong_class``, ``wrongly_deleted``
    or ``wrongly_kept``; ``args`` the values its words (:data:`FEEDBACK`) name."""

    kind: str
    box: tuple[float, float, float, float]
    class_id: int
    args: dict = field(default_factory=dict)
    iou: float | None = None
    answered_class: int | None = None

    @property
    def message(self) -> str:
        """The feedback in English (:func:`feedback_text` words it in another language)."""
        return feedback_text(self)


def feedback_text(fb: Feedback, gettext: Callable[[str], str] = str) -> str:
    """``fb``'s words through ``gettext`` (a catalogue's), the values as they were."""
    return gettext(FEEDBACK[fb.kind]) % fb.args


@dataclass(frozen=True)
class Outcome:
    """The grade of one answer: ``correct`` per skill the task grades, and the feedback."""

    task_id: str
    correct: dict[str, bool]
    feedback: tuple[Feedback, ...]

    @property
    def score(self) -> float:
        return float(np.mean(list(self.correct.values()))) if self.correct else 0.0


def _name(names: Sequence[str] | None, c: int) -> str:
    return names[c] if names is not None and 0 <= c < len(names) else f"class {c}"


def _box(b: np.ndarray) -> tuple[float, float, float, float]:
    return tuple(round(float(v), 1) for v in b)  # type: ignore[return-value]


def _grade_verify(task: PracticeTask, answer: ImageLabels, names, min_iou, kept_iou):
    shown, truth = task.shown, task.truth
    pairs = match_boxes(box_iou(shown.xyxy, truth.xyxy), min_iou, "hungarian")
    right = {i for i, j in pairs if shown.class_id[i] == truth.class_id[j]}
    overlap = box_iou(shown.xyxy, answer.xyxy) >= kept_iou
    fb = []
    for i, c in enumerate(shown.class_id.tolist()):
        kept = bool((overlap[i] & (answer.class_id == c)).any())
        if kept and i not in right:
            fb.append(Feedback("wrongly_kept", _box(shown.xyxy[i]), c, {"cls": _name(names, c)}))
        elif not kept and i in right:
            cls = {"cls": _name(names, c)}
            fb.append(Feedback("wrongly_deleted", _box(shown.xyxy[i]), c, cls))
    return {VERIFY: not fb}, fb


def grade(
    task: PracticeTask,
    answer: ImageLabels,
    class_names: Sequence[str] | None = None,
    *,
    min_iou: float = 0.5,
    tight_iou: float = 0.85,
    kept_iou: float = 0.9,
) -> Outcome:
    """Grade ``answer`` (all boxes on the image after the trainee's work) on ``task``."""
    if answer.image != task.image:
        raise ValueError(
            f"answer is for {answer.image!r} but task {task.id} is on {task.image!r}; "
            "grade each answer against its own task"
        )
    if task.type is TaskType.VERIFY:
        correct, fb = _grade_verify(task, answer, class_names, min_iou, kept_iou)
        return Outcome(task.id, correct, tuple(fb))
    names, truth = class_names, task.truth
    iou = box_iou(answer.xyxy, truth.xyxy)
    found = {j: i for i, j in match_boxes(iou, min_iou, "hungarian")}
    targets = list(task.targets)
    fb: list[Feedback] = []
    missed = [j for j in targets if j not in found]
    for j in missed:
        c = int(truth.class_id[j])
        fb.append(Feedback("missed", _box(truth.xyxy[j]), c, {"cls": _name(names, c)}))
    loose, wrong = [], []
    for j in targets:
        if j not in found:
            continue
        i, c = found[j], int(truth.class_id[j])
        if iou[i, j] < tight_iou:
            loose.append(j)
            words = {"cls": _name(names, c), "iou": f"{iou[i, j]:.2f}", "aim": tight_iou}
            fb.append(Feedback("loose", _box(truth.xyxy[j]), c, words, iou=float(iou[i, j])))
        if int(answer.class_id[i]) != c:
            wrong.append(j)
            a = int(answer.class_id[i])
            words = {"cls": _name(names, c), "answered": _name(names, a)}
            fb.append(Feedback("wrong_class", _box(truth.xyxy[j]), c, words, answered_class=a))
    correct = {}
    for skill in task.skills:
        if skill == BOX_TIGHTNESS:
            correct[skill] = not loose
        elif skill.startswith("label:"):
            correct[skill] = not wrong
        elif skill.startswith("recall:") or skill in (SMALL_OBJECTS, CROWDED):
            correct[skill] = not missed
        else:
            raise ValueError(f"task {task.id} grades unknown skill {skill!r}")
    return Outcome(task.id, correct, tuple(fb))
