"""Skill per annotator and class, scored against gold truth (honeypots).

On each gold image an answer's boxes are matched one-to-one to the gold boxes by IoU
(Hungarian, class-agnostic, IoU >= ``min_iou``). Per gold class ``c``:

- **recall**: share of gold objects of class ``c`` the annotator boxed (whatever the label);
- **label accuracy**: share of those boxed objects given label ``c``;
- **IoU**: mean IoU of the matched boxes (box tightness);
- **precision** (per the annotator's label ``c``): share of their boxes labelled ``c`` that
  are gold objects of class ``c``;
- **automation bias** (per pre-label class): share of *wrong* pre-label boxes (no gold box of
  the same class at ``min_iou``) still in the answer unchanged (same class, IoU >= ``kept_iou``).

Per annotator, **box noise** is the standard deviation of corner errors relative to the gold
box's size: ``(x1' - x1) / w``, ``(y1' - y1) / h`` and so on, over matched boxes. Every
figure comes as an :class:`~hitl_active.workforce.stats.Estimate` with a 90% interval, or
"not enough data" below ``min_count`` objects.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field

import numpy as np

from hitl_active.boxes import box_iou, match_boxes
from hitl_active.formats.core import ImageLabels
from hitl_active.workforce.records import Answer, Gold
from hitl_active.workforce.stats import (
    LEVEL,
    MIN_COUNT,
    Estimate,
    beta_rate,
    mean_estimate,
    noise_estimate,
)

__all__ = ["AnnotatorSkill", "ClassSkill", "SkillCounts", "corner_deviations", "score_gold"]

logger = logging.getLogger(__name__)

ALL = -1  # class key of the figures pooled over every class


@dataclass
class SkillCounts:
    """The raw counts behind one annotator × class's figures (kept so rates can be compared)."""

    objects: int = 0  # gold objects
    found: int = 0  # gold objects matched by a box
    right_label: int = 0  # ... with the gold label
    boxes: int = 0  # the annotator's boxes with this label
    correct_boxes: int = 0  # ... that are gold objects of this class
    wrong_prelabels: int = 0  # wrong pre-label boxes of this class shown
    left_uncorrected: int = 0  # ... kept unchanged
    ious: list[float] = field(default_factory=list)


@dataclass(frozen=True)
class ClassSkill:
    recall: Estimate
    precision: Estimate
    label_accuracy: Estimate
    iou: Estimate
    automation_bias: Estimate
    counts: SkillCounts

    @classmethod
    def from_counts(cls, c: SkillCounts, min_count: int, level: float) -> ClassSkill:
        return cls(
            recall=beta_rate(c.found, c.objects, min_count, level, "gold objects"),
            precision=beta_rate(c.correct_boxes, c.boxes, min_count, level, "boxes drawn"),
            label_accuracy=beta_rate(c.right_label, c.found, min_count, level, "objects found"),
            iou=mean_estimate(np.asarray(c.ious), min_count, level, "matched boxes"),
            automation_bias=beta_rate(
                c.left_uncorrected, c.wrong_prelabels, min_count, level, "wrong pre-label boxes"
            ),
            counts=c,
        )


@dataclass(frozen=True)
class AnnotatorSkill:
    """Everything gold says about one annotator. ``per_class[ALL]`` pools every class."""

    annotator: str
    images: int
    per_class: dict[int, ClassSkill]
    box_noise: Estimate

    @property
    def overall(self) -> ClassSkill:
        return self.per_class[ALL]


def corner_deviations(boxes: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """``(N, 4)`` corner errors of ``boxes`` against ``reference`` boxes, relative to the
    reference's width (x corners) and height (y corners)."""
    ref = np.asarray(reference, dtype=np.float64).reshape(-1, 4)
    wh = np.maximum(ref[:, 2:] - ref[:, :2], 1e-9)
    return (np.asarray(boxes, dtype=np.float64).reshape(-1, 4) - ref) / np.hstack([wh, wh])


def _add_image(
    counts: dict[int, SkillCounts],
    deviations: list[np.ndarray],
    answer: Answer,
    truth: ImageLabels,
    min_iou: float,
    kept_iou: float,
) -> None:
    ans = answer.labels
    iou = box_iou(ans.xyxy, truth.xyxy)
    pairs = match_boxes(iou, min_iou, method="hungarian")

    def get(c: int) -> SkillCounts:
        return counts.setdefault(int(c), SkillCounts())

    for c in truth.class_id:
        get(c).objects += 1
        get(ALL).objects += 1
    for c in ans.class_id:
        get(c).boxes += 1
        get(ALL).boxes += 1
    for i, j in pairs:
        gc, ac = int(truth.class_id[j]), int(ans.class_id[i])
        for k in (gc, ALL):
            get(k).found += 1
            get(k).ious.append(float(iou[i, j]))
            get(k).right_label += int(gc == ac)
        if gc == ac:
            get(ac).correct_boxes += 1
            get(ALL).correct_boxes += 1
    if pairs:
        ai, gj = (list(t) for t in zip(*pairs, strict=True))
        deviations.append(corner_deviations(ans.xyxy[ai], truth.xyxy[gj]))
    if answer.prelabel is not None and len(answer.prelabel.class_id):
        _add_prelabel(get, answer.prelabel, ans, truth, min_iou, kept_iou)


def _add_prelabel(
    get: Callable[[int], SkillCounts],
    pre: ImageLabels,
    ans: ImageLabels,
    truth: ImageLabels,
    min_iou: float,
    kept_iou: float,
) -> None:
    pairs = match_boxes(box_iou(pre.xyxy, truth.xyxy), min_iou, method="hungarian")
    right = {i for i, j in pairs if pre.class_id[i] == truth.class_id[j]}
    kept = box_iou(pre.xyxy, ans.xyxy) >= kept_iou
    for i, c in enumerate(pre.class_id):
        if i in right:
            continue
        same = kept[i] & (ans.class_id == c)
        for k in (int(c), ALL):
            get(k).wrong_prelabels += 1
            get(k).left_uncorrected += int(bool(same.any()))


def score_gold(
    answers: Iterable[Answer],
    gold: Gold,
    *,
    exclude: Collection[tuple[str, str]] = (),
    min_iou: float = 0.5,
    kept_iou: float = 0.95,
    min_count: int = MIN_COUNT,
    level: float = LEVEL,
) -> dict[str, AnnotatorSkill]:
    """Skill per annotator from their answers on gold images.

    Answers on images without gold are ignored. ``exclude`` holds ``(annotator, image)``
    pairs left out of that annotator's scores, e.g. gold items they contested that are not
    re-checked yet (see :func:`hitl_active.workforce.contest.excluded`).
    """
    excluded = set(exclude)
    counts: dict[str, dict[int, SkillCounts]] = {}
    devs: dict[str, list[np.ndarray]] = {}
    images: dict[str, int] = {}
    for a in answers:
        truth = gold.get(a.image)
        if truth is None or (a.annotator, a.image) in excluded:
            continue
        per = counts.setdefault(a.annotator, {ALL: SkillCounts()})
        _add_image(per, devs.setdefault(a.annotator, []), a, truth, min_iou, kept_iou)
        images[a.annotator] = images.get(a.annotator, 0) + 1
    out = {}
    for who, per in counts.items():
        d = np.vstack(devs[who]) if devs[who] else np.zeros((0, 4))
        out[who] = AnnotatorSkill(
            annotator=who,
            images=images[who],
            per_class={c: ClassSkill.from_counts(k, min_count, level) for c, k in per.items()},
            box_noise=noise_estimate(d, min_count, level),
        )
    logger.debug("scored %d annotators on gold", len(out))
    return out
