"""Typed rows of the state database and the JSON box format.

Boxes are stored as JSON lists of dicts ``{"xyxy": [x1, y1, x2, y2], "class_id": int,
"source": str, "score": float | None, "model_version": str | None}`` in original-image
pixels; :func:`boxes_to_labels` turns them into :class:`~hitl_active.formats.ImageLabels`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from hitl_active.formats.core import ImageLabels

if TYPE_CHECKING:
    from hitl_active.labelstudio.diff import BoxDiff

__all__ = [
    "AnnotationRow",
    "ImageRow",
    "ModelVersionRow",
    "RoundRow",
    "TaskRow",
    "boxes_to_labels",
    "labels_to_boxes",
]


@dataclass(frozen=True)
class ImageRow:
    id: int
    path: str
    width: int
    height: int
    sha1: str | None
    split: str


@dataclass(frozen=True)
class ModelVersionRow:
    name: str
    parent: str | None
    created_at: float
    weights: str | None
    onnx: str | None
    metrics: dict[str, Any]
    snapshot: dict[str, Any]
    status: str
    promoted_at: float | None


@dataclass(frozen=True)
class RoundRow:
    id: int
    started_at: float
    finished_at: float | None
    step: str
    model_version: str | None
    candidate_version: str | None
    info: dict[str, Any]
    owner: str | None = None  # the loop that runs it (see Store.claim_round)


@dataclass(frozen=True)
class TaskRow:
    image_id: int
    round_id: int | None
    ls_task_id: int | None
    project_id: int | None
    pushed_at: float
    prediction_model_version: str | None


@dataclass(frozen=True)
class AnnotationRow:
    id: int
    image_id: int
    ls_task_id: int | None
    external_id: str
    revision: str
    source: str
    boxes: list[dict[str, Any]]
    annotator: str | None
    lead_time: float | None
    cancelled: bool
    diff: dict[str, Any] | None
    recorded_at: float


def labels_to_boxes(labels: ImageLabels, source: str = "human") -> list[dict[str, Any]]:
    """JSON-ready boxes from ``labels``; per-box ``box_meta`` keys override the defaults."""
    out = []
    for i in range(len(labels)):
        box = {
            "xyxy": [round(float(v), 2) for v in labels.xyxy[i]],
            "class_id": int(labels.class_id[i]),
            "source": source,
            "score": None if labels.scores is None else round(float(labels.scores[i]), 4),
            "model_version": None,
        }
        if labels.box_meta:
            box.update(labels.box_meta[i])
        out.append(box)
    return out


def boxes_with_provenance(
    labels: ImageLabels, diff: BoxDiff | None, model_version: str | None
) -> list[dict[str, Any]]:
    """JSON boxes of an annotator's final ``labels``, each with its source.

    From ``diff`` (pre-label → final): a box kept as shown is ``human_accepted``, a moved or
    relabelled one ``human_corrected`` (both name the ``model_version`` that proposed it),
    and any other box ``human`` (drawn). Without a diff every box is ``human``.
    """
    boxes = labels_to_boxes(labels, source="human")
    if diff is not None:
        for _, j in diff.kept:
            boxes[j]["source"] = "human_accepted"
        for _, j in [*diff.moved, *diff.relabelled]:
            boxes[j]["source"] = "human_corrected"
    for box in boxes:
        if box["source"] != "human":
            box["model_version"] = model_version
    return boxes


def boxes_to_labels(image: str, width: int, height: int, boxes: Sequence[dict]) -> ImageLabels:
    """An :class:`ImageLabels` whose ``box_meta`` keeps each box's provenance fields."""
    meta = [{k: v for k, v in b.items() if k not in ("xyxy", "class_id")} for b in boxes]
    return ImageLabels(
        image=image,
        width=width,
        height=height,
        xyxy=np.array([b["xyxy"] for b in boxes], np.float32).reshape(-1, 4),
        class_id=np.array([b["class_id"] for b in boxes], np.int64),
        box_meta=meta,
    )


def _image(r: Mapping[str, Any]) -> ImageRow:
    return ImageRow(r["id"], r["path"], r["width"], r["height"], r["sha1"], r["split"])


def _version(r: Mapping[str, Any]) -> ModelVersionRow:
    return ModelVersionRow(
        name=r["name"],
        parent=r["parent"],
        created_at=r["created_at"],
        weights=r["weights"],
        onnx=r["onnx"],
        metrics=json.loads(r["metrics_json"]),
        snapshot=json.loads(r["train_snapshot_json"]),
        status=r["status"],
        promoted_at=r["promoted_at"],
    )


def _round(r: Mapping[str, Any]) -> RoundRow:
    return RoundRow(
        id=r["id"],
        started_at=r["started_at"],
        finished_at=r["finished_at"],
        step=r["step"],
        model_version=r["model_version"],
        candidate_version=r["candidate_version"],
        info=json.loads(r["info_json"]),
        owner=r.get("owner"),
    )


def _task(r: Mapping[str, Any]) -> TaskRow:
    return TaskRow(
        r["image_id"],
        r["round_id"],
        r["ls_task_id"],
        r["project_id"],
        r["pushed_at"],
        r["prediction_model_version"],
    )


def _annotation(r: Mapping[str, Any]) -> AnnotationRow:
    return AnnotationRow(
        id=r["id"],
        image_id=r["image_id"],
        ls_task_id=r["ls_task_id"],
        external_id=r["external_id"],
        revision=r["revision"],
        source=r["source"],
        boxes=json.loads(r["boxes_json"]),
        annotator=r["annotator"],
        lead_time=r["lead_time"],
        cancelled=bool(r["cancelled"]),
        diff=None if r["diff_json"] is None else json.loads(r["diff_json"]),
        recorded_at=r["recorded_at"],
    )
