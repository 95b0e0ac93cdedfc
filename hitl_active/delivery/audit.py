"""A measured quality guarantee for a delivery: audit a random sample, estimate with intervals.

A delivered box belongs to one provenance class (:data:`BOX_CLASSES`): drawn by a person
(``human``, consensus included), a pre-label a person corrected (``corrected``) or kept
(``accepted``), or the model's alone (``model``). A delivered image is ``verified`` (a
person answered it) or ``model-only``. An audit draws, per class, a simple random sample of
boxes (their **precision**: the share a reviewer confirms) and, per image class, a simple
random sample of images (their **recall**: the share of the objects a reviewer finds in them
that the delivery has), puts those images to reviewers with the delivered boxes shown, and
estimates each figure with a 95% Wilson interval, narrowed by the finite-population
correction where the sample is a large share of its class (the figure is the delivery's
own rate, not a model's).

The sample per class is the smallest whose Wilson interval is at most ``half_width`` either
side at the least favourable rate (50%), with the finite-population correction: the
acceptance-sampling question "how many to inspect for a stated precision" (ISO 2859 asks it
for lots; here the lot is a provenance class). A class smaller than its sample is inspected
whole, and its figure is then exact (as far as the reviewers are right).

A reviewed box confirms a delivered one when they overlap by :data:`MATCH_IOU` or more and
name the same class (one-to-one, by :func:`hitl_active.boxes.match_boxes`). Recall pools
the objects of the sampled images, so its interval treats them as independent; objects in
one image may not be (state it when the figure is quoted). :mod:`scripts/bench_audit.py
<scripts.bench_audit>` checks the intervals' coverage on deliveries with planted error rates.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from hitl_active.boxes import box_iou
from hitl_active.formats.core import ImageLabels
from hitl_active.reports.quality import AUDIT_RESULT_KEY, HEAD, quality_rows

__all__ = [
    "BOX_CLASSES",
    "IMAGE_CLASSES",
    "MATCH_IOU",
    "RESULT_KEY",
    "AuditPlan",
    "box_class",
    "estimate",
    "plan_audit",
    "quality_lines",
    "sample_size",
    "wilson",
]

Z95 = 1.959963984540054
#: Where the newest estimate is kept in a workspace's state store (``kv``).
RESULT_KEY = AUDIT_RESULT_KEY
MATCH_IOU = 0.5
BOX_CLASSES = ("human", "corrected", "accepted", "model")
IMAGE_CLASSES = ("verified", "model-only")
_OF_SOURCE = {
    "human": "human", "consensus": "human", "human_corrected": "corrected",
    "human_accepted": "accepted", "model": "model",
}  # fmt: skip


def box_class(source: str | None) -> str:
    """The provenance class of a box's ``source``."""
    return _OF_SOURCE.get(str(source or "human"), "human")


def wilson(k: float, n: float, z: float = Z95, fraction: float = 0.0) -> tuple[float, float]:
    """The Wilson score interval for ``k`` successes in ``n`` trials (``(0, 1)`` for none).

    ``fraction``: the share of the population the ``n`` were drawn from without
    replacement; the interval narrows by the finite-population correction (``n`` counts as
    ``n / (1 - fraction)``), since what is estimated is the rate of that population."""
    if n <= 0:
        return 0.0, 1.0
    p = k / n
    if fraction > 0:
        n = n / max(1.0 - fraction, 1e-9)
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    low = 0.0 if k <= 0 else max(0.0, centre - half)
    high = 1.0 if k >= n else min(1.0, centre + half)
    return low, high


def sample_size(half_width: float, population: int | None = None, p: float = 0.5) -> int:
    """Units to inspect for a 95% Wilson interval at most ``half_width`` either side at rate
    ``p``, with the finite-population correction for a class of ``population`` units."""
    if not 0 < half_width < 0.5:
        raise ValueError(f"half_width must be in (0, 0.5), got {half_width}")
    n = 1
    while True:  # the Wilson half-width shrinks with n; a short walk from the normal guess
        low, high = wilson(round(p * n), n)
        if (high - low) / 2 <= half_width:
            break
        n = max(n + 1, int(n * 1.05))
    if population is not None:
        n = math.ceil(n / (1 + (n - 1) / max(population, 1)))
        n = min(n, population)
    return n


@dataclass
class AuditPlan:
    """What an audit inspects: per box class the sampled boxes (``(image, box index)``),
    per image class the sampled images, and the class sizes they were drawn from."""

    half_width: float
    seed: int
    boxes: dict[str, list[tuple[str, int]]] = field(default_factory=dict)
    images: dict[str, list[str]] = field(default_factory=dict)
    population: dict[str, int] = field(default_factory=dict)

    @property
    def review_images(self) -> list[str]:
        """Every image a reviewer must see, in a stable order."""
        seen = {img for sample in self.boxes.values() for img, _ in sample}
        seen |= {img for sample in self.images.values() for img in sample}
        return sorted(seen)

    def to_dict(self) -> dict[str, Any]:
        return {
            "half_width": self.half_width, "seed": self.seed, "population": self.population,
            "boxes": {c: [list(x) for x in v] for c, v in self.boxes.items()},
            "images": self.images,
        }  # fmt: skip

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> AuditPlan:
        return cls(
            half_width=float(d["half_width"]), seed=int(d["seed"]),
            boxes={c: [(str(i), int(b)) for i, b in v] for c, v in d["boxes"].items()},
            images={c: [str(i) for i in v] for c, v in d["images"].items()},
            population={k: int(v) for k, v in d["population"].items()},
        )  # fmt: skip


def plan_audit(
    items: Sequence[ImageLabels], verified: set[str], half_width: float = 0.05, seed: int = 0
) -> AuditPlan:
    """A stratified random sample of a delivery (:func:`collect_labels`'s items);
    ``verified`` names the images a person answered (the others are model-only)."""
    rng = np.random.default_rng(seed)
    plan = AuditPlan(half_width=half_width, seed=seed)
    by_box: dict[str, list[tuple[str, int]]] = {c: [] for c in BOX_CLASSES}
    by_image: dict[str, list[str]] = {c: [] for c in IMAGE_CLASSES}
    for labels in items:
        for j, meta in enumerate(labels.box_meta):
            by_box[box_class(meta.get("source"))].append((labels.image, j))
        by_image["verified" if labels.image in verified else "model-only"].append(labels.image)
    for stratum, units in [*by_box.items(), *by_image.items()]:
        plan.population[stratum] = len(units)
        n = sample_size(half_width, len(units)) if units else 0
        picked = sorted(rng.choice(len(units), n, replace=False).tolist()) if n else []
        chosen = [units[i] for i in picked]
        if stratum in by_box:
            plan.boxes[stratum] = chosen  # type: ignore[assignment]
        else:
            plan.images[stratum] = chosen  # type: ignore[assignment]
    return plan


def _matches(delivered: ImageLabels, reviewed: ImageLabels) -> list[tuple[int, int]]:
    """One-to-one pairs ``(delivered box, reviewed box)`` of one class overlapping by
    :data:`MATCH_IOU` or more, greedily by overlap."""
    if len(delivered) == 0 or len(reviewed) == 0:
        return []
    iou = box_iou(delivered.xyxy, reviewed.xyxy)
    iou[delivered.class_id[:, None] != reviewed.class_id[None, :]] = 0.0
    pairs, used_d, used_r = [], set(), set()
    for flat in np.argsort(-iou, axis=None):
        i, j = np.unravel_index(flat, iou.shape)
        if iou[i, j] < MATCH_IOU:
            break
        if i in used_d or j in used_r:
            continue
        pairs.append((int(i), int(j)))
        used_d.add(i)
        used_r.add(j)
    return pairs


def _figure(k: int, n: int, fraction: float) -> dict[str, Any]:
    """``k`` of ``n`` with its interval, the ``n`` a ``fraction`` of their class (all of it:
    the figure is exact, not an estimate)."""
    low, high = (k / n, k / n) if fraction >= 1 and n else wilson(k, n, fraction=fraction)
    return {"estimate": None if n == 0 else round(k / n, 4), "low": round(low, 4),
            "high": round(high, 4), "confirmed": k, "inspected": n}  # fmt: skip


def quality_lines(result: dict[str, Any]) -> list[str]:
    """The estimate as a Markdown table."""
    rows = [
        " | ".join(HEAD),
        " | ".join("---" for _ in HEAD),
        *(" | ".join(r) for r in quality_rows(result)),
    ]
    return [f"| {r} |" for r in rows]


def estimate(
    plan: AuditPlan,
    delivered: Mapping[str, ImageLabels],
    reviewed: Mapping[str, ImageLabels],
) -> dict[str, Any]:
    """Precision per box class and recall per image class, with 95% Wilson intervals, from
    the reviewers' answers (``reviewed``: image → the boxes a reviewer left) on the plan's
    images. Images not reviewed yet are left out and counted in ``unreviewed``."""
    pairs = {img: _matches(delivered[img], reviewed[img]) for img in reviewed if img in delivered}
    precision = {}
    for c in BOX_CLASSES:
        done = [(img, j) for img, j in plan.boxes.get(c, []) if img in pairs]
        k = sum(any(i == j for i, _ in pairs[img]) for img, j in done)
        population = plan.population.get(c, 0)
        fraction = len(done) / population if population else 0.0
        precision[c] = _figure(k, len(done), fraction) | {"population": population}
    recall = {}
    for c in IMAGE_CLASSES:
        done = [img for img in plan.images.get(c, []) if img in pairs]
        found = sum(len(pairs[img]) for img in done)
        objects = sum(len(reviewed[img]) for img in done)
        population = plan.population.get(c, 0)
        fraction = len(done) / population if population else 0.0  # of the images
        recall[c] = _figure(found, objects, fraction) | {
            "images": len(done),
            "population": population,
        }
    unreviewed = sorted(set(plan.review_images) - set(reviewed))
    return {
        "confidence": 0.95, "interval": "Wilson score", "match_iou": MATCH_IOU,
        "half_width": plan.half_width, "precision": precision, "recall": recall,
        "reviewed_images": len(set(plan.review_images) & set(reviewed)),
        "unreviewed": unreviewed,
    }  # fmt: skip
