"""The likely-error queue: delivered boxes ranked by how likely their label is wrong.

Each delivered image a person answered (and each gold image) is scored with Cleanlab's
object-detection label-quality functions (Tkachenko, Thyagarajan & Mueller, "Objectlab:
Automated diagnosis of mislabeled images in object detection data", 2023;
``cleanlab.object_detection.rank``) against the predictions of a model that **did not
train on those labels**: the newest model version whose training snapshot does not hold
the image (for a round's image that is a version from before its answer, for a gold image
any version, since gold is never trained on). Images no such version has seen are
predicted with it first (and stored).

Three kinds of likely error, each a score in [0, 1] (lower: more likely wrong):

- ``badloc``: a labelled box whose edges the model places elsewhere;
- ``swap``: a labelled box the model is sure is another class;
- ``overlooked``: a box the model is sure of where nothing is labelled (a missing box).

The per-box scores use the workspace's own lines for Cleanlab's thresholds: a box counts
as sure at ``review_sure``, as a prediction at all at ``conf_threshold``; the image's overall
score is Cleanlab's with its own defaults. The queue is every scored box a person made or
checked, lowest first, with its image's score; reviewers take it from the top. Boxes left
to the model (box review's unasked ones) are given to Cleanlab as labels, so they are not
read as overlooked, but are not queued: the model that scores them is the one that made
them.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import numpy as np

from hitl_active.delivery.export import HUMAN_SOURCES, collect_labels
from hitl_active.detections import Detections
from hitl_active.formats.core import ImageLabels
from hitl_active.loop.registry import ModelRegistry
from hitl_active.loop.steps import prelabel
from hitl_active.workspace.workspace import Workspace

__all__ = ["ISSUES", "likely_errors", "score_boxes"]

logger = logging.getLogger(__name__)

ISSUES = ("badloc", "swap", "overlooked")


def _cleanlab_prediction(det: Detections, n_classes: int) -> np.ndarray:
    """One image's predictions as Cleanlab reads them: per class an ``(M_k, 5)`` array of
    ``x1, y1, x2, y2, probability``."""
    per_class = []
    for k in range(n_classes):
        keep = det.class_id == k
        rows = np.c_[det.xyxy[keep], det.confidence[keep]] if keep.any() else np.zeros((0, 5))
        per_class.append(rows.astype(np.float64))
    out = np.empty(n_classes, dtype=object)
    out[:] = per_class
    return out


def score_boxes(
    labels: Sequence[ImageLabels],
    predictions: Sequence[Detections],
    n_classes: int,
    sure: float = 0.5,
    shown: float = 0.25,
) -> list[dict[str, Any]]:
    """Per image, Cleanlab's image score and its per-box scores.

    Returns one dict per image: ``score`` (the image's label quality), ``boxes`` (per
    labelled box its lowest score and that issue, ``badloc`` or ``swap``) and
    ``overlooked`` (per sure prediction with no label: its box, class and score).
    """
    from cleanlab.object_detection.rank import (
        compute_badloc_box_scores,
        compute_overlooked_box_scores,
        compute_swap_box_scores,
        get_label_quality_scores,
    )

    if not labels:
        return []
    given = [{"bboxes": lab.xyxy.astype(np.float64), "labels": lab.class_id} for lab in labels]
    preds = [_cleanlab_prediction(d, n_classes) for d in predictions]
    badloc = compute_badloc_box_scores(
        labels=given, predictions=preds, low_probability_threshold=shown
    )
    swap = compute_swap_box_scores(labels=given, predictions=preds, high_probability_threshold=sure)
    overlooked = compute_overlooked_box_scores(
        labels=given, predictions=preds, high_probability_threshold=sure
    )
    images = get_label_quality_scores(given, preds, verbose=False)
    out = []
    for i, det in enumerate(predictions):
        boxes = []
        for j in range(len(labels[i])):
            scores = {"badloc": float(badloc[i][j]), "swap": float(swap[i][j])}
            issue = min(scores, key=lambda k: (np.nan_to_num(scores[k], nan=1.0), k))
            boxes.append({"issue": issue, "score": float(np.nan_to_num(scores[issue], nan=1.0))})
        order = np.concatenate([np.flatnonzero(det.class_id == k) for k in range(n_classes)])
        missed = []
        for row, score in zip(order.tolist(), np.asarray(overlooked[i]).tolist(), strict=True):
            if not np.isnan(score):
                missed.append({
                    "xyxy": [round(float(v), 2) for v in det.xyxy[row]],
                    "class_id": int(det.class_id[row]), "score": float(score),
                    "confidence": round(float(det.confidence[row]), 4),
                })  # fmt: skip
        out.append({"score": float(images[i]), "boxes": boxes, "overlooked": missed})
    return out


def _out_of_sample(ws: Workspace) -> dict[int, str]:
    """Per image, the newest finished model version that did not train on it."""
    registry = ModelRegistry(ws.store, ws.models_dir)
    versions = [v for v in registry.list() if v.status != "training" and v.onnx]
    versions.sort(key=lambda v: v.created_at, reverse=True)
    trained = {v.name: {e["id"] for e in v.snapshot.get("images", [])} for v in versions}
    out = {}
    for img in ws.store.images():
        for v in versions:
            if img.id not in trained[v.name]:
                out[img.id] = v.name
                break
    return out


def likely_errors(ws: Workspace, top: int | None = None) -> dict[str, Any]:
    """The queue: delivered boxes on answered (and gold) images, most likely wrong first.

    Returns ``{"entries": [...], "images": n, "unscored": n}``; each entry names the image,
    the box (``xyxy``, class, source, annotator where known), the issue, its score, the
    image's score and the version that scored it. ``top`` keeps the first ``top`` entries.
    """
    names = ws.config.classes
    delivered = [lab for lab in collect_labels(ws, include_model_only=False)]
    by_path = {img.path: img for img in ws.store.images()}
    scorer = _out_of_sample(ws)
    wanted: dict[str, list[tuple[Any, ImageLabels]]] = {}
    unscored = 0  # answered images no version can score out of sample, or predict
    for lab in delivered:
        img = by_path.get(lab.image)
        sources = {m.get("source") for m in lab.box_meta}
        if img is None or (lab.box_meta and not sources & set(HUMAN_SOURCES)):
            continue
        version = scorer.get(img.id)
        if version is None:
            unscored += 1
            continue
        wanted.setdefault(version, []).append((img, lab))
    entries: list[dict[str, Any]] = []
    scored_images = 0
    registry = ModelRegistry(ws.store, ws.models_dir)
    for version, pairs in wanted.items():
        prelabel(ws, registry.get(version), [img for img, _ in pairs])
        preds = [ws.store.prediction(version, img.id) for img, _ in pairs]
        kept = [(p, d) for p, d in zip(pairs, preds, strict=True) if d is not None]
        unscored += len(pairs) - len(kept)
        scored_images += len(kept)
        scored = score_boxes(
            [lab for (_, lab), _ in kept], [d for _, d in kept], len(names),
            sure=ws.config.review_sure, shown=ws.config.conf_threshold,
        )  # fmt: skip
        for ((img, lab), _), result in zip(kept, scored, strict=True):
            common = {"image": img.path, "image_score": round(result["score"], 4),
                      "scored_by": version}  # fmt: skip
            for j, box in enumerate(result["boxes"]):
                meta = lab.box_meta[j] if lab.box_meta else {}
                if meta.get("source") == "model":  # scored by the model that made it
                    continue
                entries.append({
                    **common, "issue": box["issue"], "score": round(box["score"], 4),
                    "xyxy": [round(float(v), 2) for v in lab.xyxy[j]],
                    "class": names[int(lab.class_id[j])], "source": meta.get("source"),
                    **({"annotator": meta["annotator"]} if meta.get("annotator") else {}),
                })  # fmt: skip
            for miss in result["overlooked"]:
                entries.append({
                    **common, "issue": "overlooked", "score": round(miss["score"], 4),
                    "xyxy": miss["xyxy"], "class": names[miss["class_id"]], "source": None,
                    "confidence": miss["confidence"],
                })  # fmt: skip
    entries.sort(key=lambda e: (e["score"], e["image_score"], e["image"]))
    logger.info("likely-error queue: %d boxes on %d images", len(entries), len(delivered))
    return {
        "entries": entries if top is None else entries[:top],
        "boxes": len(entries),
        "images": scored_images,
        "unscored": unscored,
    }
