"""What an annotator changed, compared with the pre-label the annotation started from.

Boxes are paired first by Label Studio region id (an annotation started from a prediction
keeps the prediction's region ids), then the rest greedily by IoU (≥ ``min_iou``). A paired
box is *kept* when it moved less than ``tol_px`` on every side and keeps its class,
*moved* when only its coordinates changed, *relabelled* when its class changed (whether
or not it also moved). Unpaired prediction boxes were *deleted*, unpaired annotation boxes
*added*.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from hitl_active.boxes import box_iou, match_boxes
from hitl_active.formats.core import ImageLabels

__all__ = ["BoxDiff", "diff_boxes"]


@dataclass
class BoxDiff:
    """Counts and index pairs ``(prediction_index, annotation_index)`` per kind of change."""

    kept: list[tuple[int, int]] = field(default_factory=list)
    moved: list[tuple[int, int]] = field(default_factory=list)
    relabelled: list[tuple[int, int]] = field(default_factory=list)
    deleted: list[int] = field(default_factory=list)
    added: list[int] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return {k: len(v) for k, v in asdict(self).items()}

    @property
    def unchanged(self) -> bool:
        """The annotator accepted the pre-label as it was."""
        return not (self.moved or self.relabelled or self.deleted or self.added)

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "counts": self.counts()}


def _region_ids(labels: ImageLabels) -> list[Any]:
    if labels.box_meta:
        return [m.get("region_id") for m in labels.box_meta]
    return [None] * len(labels)


def diff_boxes(
    prediction: ImageLabels, annotation: ImageLabels, tol_px: float = 1.0, min_iou: float = 0.3
) -> BoxDiff:
    """Compare an annotation with the prediction it started from (see module doc)."""
    pairs: list[tuple[int, int]] = []
    free_p, free_a = set(range(len(prediction))), set(range(len(annotation)))
    ann_by_id = {rid: j for j, rid in enumerate(_region_ids(annotation)) if rid is not None}
    for i, rid in enumerate(_region_ids(prediction)):
        j = ann_by_id.get(rid) if rid is not None else None
        if j is not None and j in free_a:
            pairs.append((i, j))
            free_p.discard(i)
            free_a.discard(j)
    if free_p and free_a:
        p_idx, a_idx = sorted(free_p), sorted(free_a)
        iou = box_iou(prediction.xyxy[p_idx], annotation.xyxy[a_idx])
        for pi, aj in match_boxes(iou, min_iou):
            i, j = p_idx[pi], a_idx[aj]
            pairs.append((i, j))
            free_p.discard(i)
            free_a.discard(j)
    diff = BoxDiff(deleted=sorted(free_p), added=sorted(free_a))
    for i, j in sorted(pairs):
        if prediction.class_id[i] != annotation.class_id[j]:
            diff.relabelled.append((i, j))
        elif np.abs(prediction.xyxy[i] - annotation.xyxy[j]).max() > tol_px:
            diff.moved.append((i, j))
        else:
            diff.kept.append((i, j))
    return diff
