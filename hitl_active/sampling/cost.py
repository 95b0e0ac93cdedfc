"""What correcting pre-labels costs an annotator, in seconds.

An annotator who receives pre-labels does one of five things per box: **verify** a
correct box, **fix** a box in the right place but loosely drawn, **relabel** a box of the
wrong class, **delete** a false box, or **draw** a box the model missed. Default times
come from published timing studies:

- verify 1.6 s: one yes/no box verification, Papadopoulos, Uijlings, Keller & Ferrari,
  "We don't need no bounding-boxes: Training object class detectors using only human
  verification", CVPR 2016 (1.6 s per question on average).
- draw 25.5 s: drawing one box, median, Su, Deng & Fei-Fei, "Crowdsourcing Annotations for
  Visual Object Detection", AAAI HCOMP workshop 2012 (42 s with their quality and coverage
  checks). Papadopoulos et al., "Extreme clicking for efficient object annotation",
  ICCV 2017 measured 34.5 s for conventional drawing and 7.0 s with extreme clicking:
  set ``draw_s=7.0`` for tools that support it.
- fix 7.0 s: re-placing a box's edges, taken as one extreme-click box (ICCV 2017 above).
- delete 2.0 s and relabel 3.0 s: a verification plus one click / one class choice
  (our assumption, not a measured figure).
- per image 2.0 s: opening the image and scanning it for missed objects (assumption).

All figures are configurable on :class:`CostModel`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

import numpy as np

from hitl_active.boxes import box_iou, match_boxes
from hitl_active.detections import Detections
from hitl_active.formats.core import ImageLabels
from hitl_active.sampling.packed import PackedDetections, segment_sum

__all__ = ["CorrectionCost", "CostModel"]


@dataclass
class CorrectionCost:
    """Seconds and counts of each correction action; add them up with ``+``."""

    seconds: float = 0.0
    images: int = 0
    verified: int = 0
    fixed: int = 0
    relabelled: int = 0
    deleted: int = 0
    drawn: int = 0

    def __add__(self, other: CorrectionCost) -> CorrectionCost:
        return CorrectionCost(
            **{f.name: getattr(self, f.name) + getattr(other, f.name) for f in fields(self)}
        )

    @property
    def hours(self) -> float:
        return self.seconds / 3600.0

    def to_dict(self) -> dict[str, float]:
        return asdict(self)


@dataclass(frozen=True)
class CostModel:
    """Annotator seconds per correction action (sources in the module docstring).

    Args:
        match_iou: a pre-label and a true box closer than this are the same object.
        accept_iou: a matched box at or above this IoU is accepted as is; below, fixed.
    """

    verify_s: float = 1.6
    fix_s: float = 7.0
    relabel_s: float = 3.0
    delete_s: float = 2.0
    draw_s: float = 25.5
    image_s: float = 2.0
    match_iou: float = 0.5
    accept_iou: float = 0.8

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if value < 0:
                raise ValueError(f"CostModel.{f.name} must be non-negative, got {value}")
        if not 0 < self.match_iou <= self.accept_iou <= 1:
            raise ValueError(
                f"need 0 < match_iou <= accept_iou <= 1, got {self.match_iou}, {self.accept_iou}"
            )

    def cost_of_correction(
        self, prelabels: Detections | ImageLabels, truth: ImageLabels
    ) -> CorrectionCost:
        """The actions (and seconds) that turn ``prelabels`` into ``truth``.

        ``prelabels`` are the boxes the annotator was shown: pass ``detections.above(thr)``.
        """
        iou = box_iou(prelabels.xyxy, truth.xyxy)
        pairs = match_boxes(iou, self.match_iou)
        return self._priced(pairs, iou, prelabels.class_id, truth, len(truth.xyxy) - len(pairs))

    def _priced(
        self, pairs: list[tuple[int, int]], iou: np.ndarray, shown_cls: np.ndarray,
        truth: ImageLabels, drawn: int,
    ) -> CorrectionCost:  # fmt: skip
        """The actions of one image: each pair (shown box, true box) accepted, tightened
        and/or relabelled by its IoU and class; every unpaired shown box deleted; ``drawn``
        boxes drawn; opened once."""
        verified = fixed = relabelled = 0
        for p, t in pairs:
            loose = iou[p, t] < self.accept_iou
            if shown_cls[p] != truth.class_id[t]:
                relabelled += 1
                fixed += int(loose)
            elif loose:
                fixed += 1
            else:
                verified += 1
        deleted = len(iou) - len(pairs)
        seconds = (
            self.image_s
            + verified * self.verify_s
            + fixed * self.fix_s
            + relabelled * self.relabel_s
            + deleted * self.delete_s
            + drawn * self.draw_s
        )
        return CorrectionCost(seconds, 1, verified, fixed, relabelled, deleted, drawn)

    def cost_of_review(
        self, items: Detections | ImageLabels, truth: ImageLabels, fix_from: int | None = None
    ) -> tuple[CorrectionCost, list[int | None]]:
        """What a box-level review of ``items`` costs, and the true box each item became.

        ``items`` are the boxes put to the annotator, check items first and fix items from
        index ``fix_from`` on (see :mod:`hitl_active.sampling.review`; ``None``: all are
        check items). An item on a true object (IoU ``match_iou``) is accepted
        (``verify_s``), tightened (``fix_s``) or relabelled (``relabel_s``, plus ``fix_s``
        when also loose). A fix item asks for the right box in its region, so one that
        misses that bar still finds an object it overlaps (IoU 0.1) that no item took, and
        puts its box right (``fix_s``, plus ``relabel_s`` for another class). Any other
        item is deleted (``delete_s``). Objects no item points at are not looked for: no
        scan, no drawing. Returns the cost (``image_s`` once, to open the image) and, per
        item, the index of the true box it became, or ``None`` when it was deleted.
        """
        iou = box_iou(items.xyxy, truth.xyxy)
        matched: list[int | None] = [None] * len(items.xyxy)
        pairs = match_boxes(iou, self.match_iou)
        start = len(items.xyxy) if fix_from is None else int(fix_from)
        taken_p, taken_t = {p for p, _ in pairs}, {t for _, t in pairs}
        free_p = [p for p in range(start, len(items.xyxy)) if p not in taken_p]
        free_t = [t for t in range(len(truth.xyxy)) if t not in taken_t]
        if free_p and free_t:  # fix items put the box right on an object they overlap
            sub = iou[np.ix_(free_p, free_t)]
            for a, b in match_boxes(sub, 0.1):
                pairs.append((free_p[a], free_t[b]))
                iou[free_p[a], free_t[b]] = 0.0  # counts as loose: its box is redrawn
        for p, t in pairs:
            matched[p] = int(t)
        return self._priced(pairs, iou, items.class_id, truth, 0), matched

    def estimate_costs(self, pool: PackedDetections, display_threshold: float = 0.25) -> np.ndarray:
        """``(n_images,)`` expected seconds per image before the truth is known.

        A shown box (confidence ``p >= display_threshold``) is verified with probability
        ``p`` and deleted otherwise; a hidden candidate is a missed object to draw with
        probability ``p``. Candidates overlap, so this is a rough, monotone estimate.
        """
        p = pool.confidence.astype(np.float64)
        shown = p >= display_threshold
        per_box = np.where(shown, p * self.verify_s + (1 - p) * self.delete_s, p * self.draw_s)
        return self.image_s + segment_sum(per_box, pool.offsets)

    def estimate_cost(self, detections: Detections, display_threshold: float = 0.25) -> float:
        """Expected seconds for one image (see :meth:`estimate_costs`)."""
        packed = PackedDetections.from_detections([detections])
        return float(self.estimate_costs(packed, display_threshold)[0])
