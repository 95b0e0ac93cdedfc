"""The client's side of fair pay: what an annotator-hour buys.

- **Annotator-hours per mAP point** along a learning curve ``[(hours, map), ...]`` (mAP in
  [0, 1]; a point is 0.01), over the whole curve and per step; a step without a gain has none.
- **Cost per accepted box**: pay ÷ boxes a person accepted into the dataset (drawn, corrected
  or confirmed: the provenance sources the caller names as human).
- **Share of boxes verified by humans**: those boxes ÷ all delivered boxes.

Pure figures: the learning curve comes from the model registry, pay from :mod:`.pay`,
provenance counts from the delivered dataset.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

__all__ = ["Roi", "Step", "hours_per_map_point", "roi"]


@dataclass(frozen=True)
class Step:
    """One step of the curve: hours spent, mAP points gained, hours per point (``None``
    when the step gained nothing)."""

    hours_from: float
    hours_to: float
    points: float
    hours_per_point: float | None


def hours_per_map_point(curve: Sequence[tuple[float, float]]) -> tuple[float | None, list[Step]]:
    """Hours per mAP point from the first to the last point of the curve, and per step."""
    pts = [(float(h), float(m)) for h, m in curve]
    for i, (h, m) in enumerate(pts):
        if not (math.isfinite(h) and h >= 0 and 0 <= m <= 1):
            raise ValueError(f"curve point {i}: need hours >= 0 and mAP in [0, 1], got {(h, m)}")
        if i and h < pts[i - 1][0]:
            raise ValueError(f"curve point {i}: hours go down ({pts[i - 1][0]} -> {h}); sort it")
    steps = []
    for (h0, m0), (h1, m1) in itertools.pairwise(pts):
        gain = (m1 - m0) * 100
        steps.append(Step(h0, h1, gain, (h1 - h0) / gain if gain > 0 else None))
    if len(pts) < 2:
        return None, steps
    gain = (pts[-1][1] - pts[0][1]) * 100
    return ((pts[-1][0] - pts[0][0]) / gain if gain > 0 else None), steps


@dataclass(frozen=True)
class Roi:
    hours: float
    hours_per_point: float | None
    steps: list[Step]
    cost: float
    currency: str
    accepted_boxes: int
    boxes: int

    @property
    def cost_per_accepted_box(self) -> float | None:
        return self.cost / self.accepted_boxes if self.accepted_boxes else None

    @property
    def human_verified_share(self) -> float | None:
        return self.accepted_boxes / self.boxes if self.boxes else None


def roi(
    curve: Sequence[tuple[float, float]],
    cost: float,
    currency: str,
    provenance: Mapping[str, int],
    human: Collection[str],
) -> Roi:
    """ROI figures. ``provenance`` counts delivered boxes per source; ``human`` names the
    sources a person drew, corrected or confirmed."""
    if not (math.isfinite(cost) and cost >= 0):
        raise ValueError(f"cost must be a finite number >= 0, got {cost}")
    if any(n < 0 for n in provenance.values()):
        raise ValueError(f"box counts must be >= 0, got {dict(provenance)}")
    per_point, steps = hours_per_map_point(curve)
    hours = float(curve[-1][0]) if len(curve) else 0.0
    accepted = sum(n for src, n in provenance.items() if src in human)
    return Roi(hours, per_point, steps, cost, currency, accepted, sum(provenance.values()))
