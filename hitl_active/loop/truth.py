"""Which labels are true: the one place that says what trains a model, what measures it (the
gold set), what is delivered as human-labelled, and what may key a practice task.

* An answer to a honeypot (a gold image served to score a person) is never truth.
* A pool image answered by several people through overlap is true as their consensus, once
  two answers are in (:func:`overlap_consensus`).
* Otherwise an image's truth is its newest live answer (:func:`human_answers`): a later
  revision or a later answer replaces it; a skip or a deleted annotation is none.
* A gold image is true as its imported labels, else as the answer to its own task
  (:func:`gold_truths`); it never trains (:func:`training_items`).

Delivery (:func:`hitl_active.delivery.export.collect_labels`) and the training track's
answer keys (:func:`hitl_active.team.practice_track.answer_keys`) read these functions too.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hitl_active.formats.core import ImageLabels
from hitl_active.loop.review import plans_of, trusted_versions, unasked_boxes
from hitl_active.store.store import AnnotationRow, ImageRow, boxes_to_labels
from hitl_active.workforce.consensus import merge_answers
from hitl_active.workforce.records import Answer
from hitl_active.workspace.workspace import Workspace

__all__ = [
    "gold_truths",
    "honeypot_tasks",
    "human_answers",
    "overlap_consensus",
    "training_items",
]


def honeypot_tasks(ws: Workspace) -> set[int]:
    """Label Studio task ids of every honeypot served: their answers score people only."""
    return {a.ls_task_id for a in ws.store.assignments(kind="honeypot") if a.ls_task_id}


def human_answers(
    ws: Workspace, answers: list[AnnotationRow] | None = None
) -> dict[int, AnnotationRow]:
    """Image id → its newest live human answer, honeypot answers left out (``answers``:
    ``ws.store.answers()`` when the caller has read them already)."""
    honeypots = honeypot_tasks(ws)
    out: dict[int, AnnotationRow] = {}
    for a in ws.store.answers() if answers is None else answers:  # id order: the newest wins
        if a.ls_task_id is None or a.ls_task_id not in honeypots:
            out[a.image_id] = a
    return out


def overlap_consensus(
    ws: Workspace, images: dict[int, ImageRow], answers: list[AnnotationRow] | None = None
) -> dict[int, tuple[ImageLabels, list[str]]]:
    """Consensus labels of pool images that several annotators answered through overlap
    assignments: image id -> (labels whose boxes name their annotators, the answers used).

    Boxes are matched across answers by IoU (Hungarian) and labelled by vote
    (:func:`hitl_active.workforce.consensus.merge_answers`); an image with one answer so far
    is left to the single-answer path (:func:`human_answers`).
    """

    overlapped = {a.ls_task_id for a in ws.store.assignments(kind="overlap") if a.ls_task_id}
    if not overlapped:
        return {}
    by_image: dict[int, dict[str, Any]] = {}
    for ann in ws.store.answers() if answers is None else answers:  # a later one wins
        if ann.ls_task_id in overlapped and ann.annotator:
            by_image.setdefault(ann.image_id, {})[ann.annotator] = ann
    out = {}
    for image_id, anns in by_image.items():
        img = images[image_id]
        if len(anns) < 2 or img.split == "gold":
            continue
        answers = [
            Answer(who, boxes_to_labels(img.path, img.width, img.height, a.boxes))
            for who, a in sorted(anns.items())
        ]
        used = [f"{a.external_id}@{a.revision}" for _, a in sorted(anns.items())]
        out[image_id] = (merge_answers(answers), used)
    return out


def training_items(ws: Workspace) -> list[tuple[Path, ImageLabels, dict[str, Any]]]:
    """Human-annotated, non-gold images with their labels and a snapshot entry.

    An image given to several annotators (overlap) trains on the consensus of their answers
    (:func:`overlap_consensus`), once at least two are in; its entry names whose. An image
    reviewed box by box also trains on its plan's unasked boxes
    (:func:`~hitl_active.loop.review.unasked_boxes`: sure ones as model boxes, uncertain
    ones masked).
    """
    images = {img.id: img for img in ws.store.images()}  # one query, not one per annotation
    answers = ws.store.answers()  # read once for both rules
    merged = overlap_consensus(ws, images, answers)
    out = []
    human = human_answers(ws, answers)
    planned = plans_of(ws, [a.image_id for a in ws.store.annotations()])  # read once
    trusted = trusted_versions(ws, planned)
    for image_id, ann in sorted(human.items(), key=lambda kv: kv[1].id):
        img = images[image_id]
        if img.split == "gold" or img.id in merged:
            continue
        boxes = [*ann.boxes, *unasked_boxes(ws, img.id, trusted, planned)]  # box review's
        labels = boxes_to_labels(img.path, img.width, img.height, boxes)
        entry = {"id": img.id, "sha1": img.sha1, "annotation": f"{ann.external_id}@{ann.revision}"}
        out.append((Path(img.path), labels, entry))
    for image_id, (labels, sources) in merged.items():
        img = images[image_id]
        entry = {"id": img.id, "sha1": img.sha1, "annotation": "consensus:" + "+".join(sources)}
        out.append((Path(img.path), labels, entry))
    return out


def gold_truths(ws: Workspace) -> list[tuple[ImageRow, ImageLabels]]:
    """Gold images with their labels: imported labels, else the human answer to the gold
    image's own task. Answers to honeypots are never truth."""
    imported = ws.store.gold_labels()
    answered = human_answers(ws)
    out = []
    for img in ws.store.images("gold"):
        boxes = imported.get(img.id)
        if boxes is None and img.id in answered:
            boxes = answered[img.id].boxes
        if boxes is not None:
            out.append((img, boxes_to_labels(img.path, img.width, img.height, boxes)))
    return out
