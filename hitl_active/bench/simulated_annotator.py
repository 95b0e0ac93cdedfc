"""Simulated annotators with planted skills, to validate the workforce estimators.

A profile plants, per class, a recall (chance of boxing an object), a confusion row (which
label the boxed object gets), and per annotator a false-positive rate (Poisson boxes per
image), a box-corner noise proportional to the box's size, the probability of accepting a
wrong pre-label unchanged, and per-action times. A spammer draws random boxes.

An :class:`~hitl_active.workforce.records.Answer` holds
:class:`~hitl_active.formats.core.ImageLabels`, so
``hitl_active.formats.labelstudio.to_ls_results(answer.labels, ...)`` turns it into a Label
Studio result to submit as that annotator's user. The simulation validates the estimators,
not human learning.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from hitl_active.boxes import box_iou, match_boxes
from hitl_active.formats.core import ImageLabels
from hitl_active.workforce.records import Answer

__all__ = ["ActionTimes", "AnnotatorProfile", "SimulatedAnnotator"]


@dataclass(frozen=True)
class ActionTimes:
    """Mean seconds per action; each task's total is jittered (log-normal, sd 0.25)."""

    open_s: float = 4.0
    draw_s: float = 12.0
    verify_s: float = 1.6
    delete_s: float = 2.0


@dataclass(frozen=True)
class AnnotatorProfile:
    """Planted skills. ``recall`` is ``(C,)``; ``confusion`` is ``(C, C)``, row = true class."""

    recall: np.ndarray
    confusion: np.ndarray
    fp_rate: float = 0.1
    box_noise: float = 0.03
    accept_wrong: float = 0.1
    times: ActionTimes = field(default_factory=ActionTimes)
    spammer: bool = False
    spam_boxes: float = 2.5  # a spammer's mean boxes per image

    def __post_init__(self) -> None:
        r = np.asarray(self.recall, dtype=np.float64)
        m = np.asarray(self.confusion, dtype=np.float64)
        if r.ndim != 1 or m.shape != (len(r), len(r)):
            raise ValueError(f"recall must be (C,) and confusion (C, C); got {r.shape}, {m.shape}")
        if np.any((r < 0) | (r > 1)) or np.any(m < 0) or not np.allclose(m.sum(axis=1), 1.0):
            raise ValueError("recall must lie in [0, 1] and each confusion row sum to 1")
        if min(self.fp_rate, self.box_noise, self.accept_wrong) < 0 or self.accept_wrong > 1:
            raise ValueError("fp_rate and box_noise must be >= 0, accept_wrong within [0, 1]")
        object.__setattr__(self, "recall", r)
        object.__setattr__(self, "confusion", m)

    @classmethod
    def uniform(
        cls, n_classes: int, recall: float, label_accuracy: float = 0.95, **kw
    ) -> AnnotatorProfile:
        """The same recall for every class; wrong labels spread evenly over the others."""
        off = (1 - label_accuracy) / max(n_classes - 1, 1)
        m = np.full((n_classes, n_classes), off)
        np.fill_diagonal(m, label_accuracy if n_classes > 1 else 1.0)
        return cls(np.full(n_classes, recall), m, **kw)

    @classmethod
    def random_spammer(cls, n_classes: int, spam_boxes: float = 2.5) -> AnnotatorProfile:
        return cls.uniform(n_classes, 0.0, spammer=True, spam_boxes=spam_boxes)

    @property
    def n_classes(self) -> int:
        return len(self.recall)

    @property
    def reliability(self) -> np.ndarray:
        """Per class, the chance an object is boxed with its right label."""
        return self.recall * np.diag(self.confusion)


class SimulatedAnnotator:
    """One simulated person. Randomness comes only from the generator passed to ``annotate``."""

    def __init__(self, name: str, profile: AnnotatorProfile, min_iou: float = 0.5) -> None:
        self.name = name
        self.profile = profile
        self.min_iou = min_iou

    def annotate(
        self, truth: ImageLabels, rng: np.random.Generator, prelabel: ImageLabels | None = None
    ) -> Answer:
        """This annotator's answer on an image whose true boxes are ``truth``."""
        p = self.profile
        if p.spammer:
            boxes, classes = self._random_boxes(truth, rng, rng.poisson(p.spam_boxes))
            secs = p.times.open_s + 0.2 * p.times.draw_s * len(classes)
            return self._answer(truth, boxes, classes, prelabel, secs, rng)
        out_b: list[np.ndarray] = []
        out_c: list[int] = []
        covered: set[int] = set()
        secs = p.times.open_s
        if prelabel is not None and len(prelabel.class_id):
            pairs = dict(match_boxes(box_iou(prelabel.xyxy, truth.xyxy), self.min_iou, "hungarian"))
            for i, c in enumerate(prelabel.class_id.tolist()):
                j = pairs.get(i)
                right = j is not None and truth.class_id[j] == c
                secs += p.times.verify_s
                if right or rng.random() < p.accept_wrong:
                    out_b.append(prelabel.xyxy[i].astype(np.float64))
                    out_c.append(int(c))
                    if j is not None:
                        covered.add(j)
                else:
                    secs += p.times.delete_s
        for j, c in enumerate(truth.class_id.tolist()):
            if j in covered or rng.random() >= p.recall[c]:
                continue
            out_c.append(int(rng.choice(p.n_classes, p=p.confusion[c])))
            out_b.append(self._noisy(truth.xyxy[j], rng))
            secs += p.times.draw_s
        fb, fc = self._random_boxes(truth, rng, rng.poisson(p.fp_rate))
        out_b.extend(fb)
        out_c.extend(fc.tolist())
        secs += p.times.draw_s * len(fc)
        return self._answer(truth, out_b, out_c, prelabel, secs, rng)

    def _noisy(self, box: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        b = np.asarray(box, dtype=np.float64)
        w, h = b[2] - b[0], b[3] - b[1]
        out = b + rng.normal(0.0, self.profile.box_noise, 4) * np.array([w, h, w, h])
        return np.array([*np.minimum(out[:2], out[2:]), *np.maximum(out[:2], out[2:])])

    def _random_boxes(self, truth: ImageLabels, rng: np.random.Generator, n: int):
        side = rng.uniform(0.1, 0.4, (n, 2)) * np.array([truth.width, truth.height])
        x1 = rng.uniform(0, truth.width - side[:, 0])
        y1 = rng.uniform(0, truth.height - side[:, 1])
        boxes = np.stack([x1, y1, x1 + side[:, 0], y1 + side[:, 1]], axis=1)
        return list(boxes), rng.integers(0, self.profile.n_classes, n)

    def _answer(self, truth, boxes, classes, prelabel, secs: float, rng) -> Answer:
        xyxy = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
        labels = ImageLabels(truth.image, truth.width, truth.height, xyxy, np.asarray(classes))
        seconds = float(secs * rng.lognormal(0.0, 0.25))
        return Answer(self.name, labels, prelabel=prelabel, seconds=seconds)
