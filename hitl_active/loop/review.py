"""Box-level review in the loop: the plan kept per image, what its task shows, and what the
image trains on.

With ``review: boxes`` a round's selection is a
:class:`~hitl_active.sampling.review.ReviewPlan`. Each planned image's part of it is kept
in the workspace's store under ``review.plan.<image id>``, as rows of the round version's
stored prediction of that image (which never changes):

- its task shows only the items (``check``: a sure pre-label to accept or delete; ``fix``:
  an uncertain region to put right), each region marked with its kind
  (:func:`task_prelabel`);
- once a person has answered it, the image trains on their boxes plus the sure pre-labels
  nobody checked (``source: model``, never counted as verified) with the uncertain
  regions nobody was asked about masked (``ignore``) (:func:`unasked_boxes`).

An image planned whole (``full``) is an ordinary task: every pre-label above the display
threshold, missed objects drawn.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from hitl_active.detections import Detections
from hitl_active.sampling.review import ReviewPlan
from hitl_active.workspace.workspace import Workspace

__all__ = ["PLAN_KEY", "plan_of", "review_parts", "save_plan", "task_prelabel", "unasked_boxes"]

#: store key of one image's part of a box-review plan (``PLAN_KEY + str(image_id)``)
PLAN_KEY = "review.plan."


def save_plan(ws: Workspace, version: str, ids: Sequence[int], plan: ReviewPlan) -> None:
    """Keep each planned image's part of ``plan`` (``ids``: image id per pool index)."""
    for pos, index in enumerate(plan.indices.tolist()):
        entry = {
            "version": version,
            "full": bool(plan.full[pos]),
            "items": plan.items[pos].tolist(),
            "kinds": list(plan.kinds[pos]),
            "unchecked": plan.unchecked[pos].tolist(),
            "ignored": plan.ignored[pos].tolist(),
        }
        ws.store.set(PLAN_KEY + str(int(ids[index])), entry)


def plan_of(ws: Workspace, image_id: int) -> dict[str, Any] | None:
    """The image's part of a box-review plan, or ``None`` (not planned, or planned whole)."""
    entry = ws.store.get(PLAN_KEY + str(int(image_id)))
    return None if entry is None or entry.get("full") else entry


def review_parts(ws: Workspace, image_id: int) -> dict[str, Detections] | None:
    """The image's planned detections split into ``check``, ``fix``, ``unchecked`` and
    ``ignored`` (as :meth:`ReviewPlan.for_image` gives them), or ``None``."""
    entry = plan_of(ws, image_id)
    if entry is None:
        return None
    dets = ws.store.prediction(entry["version"], image_id)
    if dets is None:
        return None
    items = np.asarray(entry["items"], np.int64)
    kinds = np.asarray(entry["kinds"], dtype=object)
    return {
        "check": dets[items[kinds == "check"]],
        "fix": dets[items[kinds == "fix"]],
        "unchecked": dets[np.asarray(entry["unchecked"], np.int64)],
        "ignored": dets[np.asarray(entry["ignored"], np.int64)],
    }


def task_prelabel(ws: Workspace, image_id: int) -> tuple[Detections, list[str]] | None:
    """What a box-review task shows: the items, and each one's kind; ``None`` when the
    image is not reviewed item by item."""
    entry = plan_of(ws, image_id)
    if entry is None:
        return None
    dets = ws.store.prediction(entry["version"], image_id)
    if dets is None:
        return None
    return dets[np.asarray(entry["items"], np.int64)], list(entry["kinds"])


def unasked_boxes(ws: Workspace, image_id: int) -> list[dict[str, Any]]:
    """The planned boxes nobody was asked about, as JSON boxes: sure pre-labels left
    unchecked (``source: model``) and uncertain regions left unasked (``ignore: true``,
    masked in training). Empty when the image is not reviewed item by item."""
    parts = review_parts(ws, image_id)
    if parts is None:
        return []
    version = ws.store.get(PLAN_KEY + str(int(image_id)))["version"]
    out = []
    for name, extra in (("unchecked", {}), ("ignored", {"ignore": True})):
        det = parts[name]
        for box, cid, score in zip(det.xyxy, det.class_id, det.confidence, strict=True):
            out.append({
                "xyxy": [round(float(v), 2) for v in box], "class_id": int(cid),
                "source": "model", "model_version": version, "score": round(float(score), 4),
                **extra,
            })  # fmt: skip
    return out
