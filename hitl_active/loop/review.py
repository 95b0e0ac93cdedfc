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
  nobody checked (``source: model``, never counted as verified), while the same model's
  checked sure boxes prove right often enough (:func:`trusted_versions`; masked
  otherwise), with the uncertain regions nobody was asked about masked (``ignore``)
  (:func:`unasked_boxes`).

An image planned whole (``full``) is an ordinary task: every pre-label above the display
threshold, missed objects drawn.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import numpy as np

from hitl_active.boxes import box_iou, match_boxes
from hitl_active.detections import Detections
from hitl_active.sampling.review import ReviewPlan, shown_items, split_parts, trust_unchecked
from hitl_active.workspace.workspace import Workspace

__all__ = [
    "PLAN_KEY",
    "Planned",
    "check_tally",
    "plan_of",
    "plans_of",
    "review_parts",
    "review_used",
    "save_plan",
    "task_prelabel",
    "trusted_versions",
    "unasked_boxes",
]

logger = logging.getLogger(__name__)

#: a check item is right when a kept box of its class overlaps it this much (one to one)
MATCH_IOU = 0.5

#: store key of one image's part of a round's box-review plan
#: (``PLAN_KEY + f"{round_id}.{image_id}"``)
PLAN_KEY = "review.plan."

_KINDS = {"check", "fix"}


def save_plan(
    ws: Workspace, round_id: int, version: str, ids: Sequence[int], plan: ReviewPlan
) -> None:
    """Keep each planned image's part of round ``round_id``'s ``plan`` (``ids``: image id
    per pool index). Keyed by round: an image another open round holds keeps that round's
    plan, and one released back to the pool (a skip) takes the plan of the round that
    selects it next."""
    for pos, index in enumerate(plan.indices.tolist()):
        entry = {
            "version": version,
            "full": bool(plan.full[pos]),
            "items": plan.items[pos].tolist(),
            "kinds": list(plan.kinds[pos]),
            "unchecked": plan.unchecked[pos].tolist(),
            "ignored": plan.ignored[pos].tolist(),
        }
        ws.store.set(f"{PLAN_KEY}{int(round_id)}.{int(ids[index])}", entry)
    if len(plan) and not review_used(ws):
        ws.store.set(USED_KEY, True)


#: store key set once a box-review plan was kept: workspaces that never planned one skip
#: every plan lookup
USED_KEY = "review.used"


def review_used(ws: Workspace) -> bool:
    """Whether this workspace ever kept a box-review plan."""
    return bool(ws.store.get(USED_KEY, False))


def plan_of(ws: Workspace, image_id: int, round_id: int | None = None) -> dict[str, Any] | None:
    """The image's part of the box-review plan of ``round_id`` (default: the round of the
    image's task), or ``None``: not planned, planned whole, or no task yet."""
    if round_id is None:
        task = ws.store.task_of_image(image_id)
        if task is None or task.round_id is None:
            return None
        round_id = task.round_id
    entry = ws.store.get(f"{PLAN_KEY}{int(round_id)}.{int(image_id)}")
    return None if not isinstance(entry, dict) or entry.get("full") is not False else entry


def _rows(entry: dict[str, Any], n: int, image_id: int) -> dict[str, np.ndarray] | None:
    """The entry's rows, checked against ``n`` stored detections (``None``: unusable)."""
    try:
        rows = {k: np.asarray(entry[k], dtype=np.int64).reshape(-1)
                for k in ("items", "unchecked", "ignored")}  # fmt: skip
        kinds = [str(k) for k in entry["kinds"]]
    except (KeyError, TypeError, ValueError):
        rows, kinds = {}, []
    every = np.concatenate(list(rows.values())) if rows else np.zeros(0, np.int64)
    if (not rows or len(kinds) != len(rows["items"]) or not set(kinds) <= _KINDS
            or ((every < 0) | (every >= n)).any()):  # fmt: skip
        logger.warning("image %d: its box-review plan does not fit its prediction; ignored",
                       image_id)  # fmt: skip
        return None
    rows["kinds"] = np.asarray(kinds, dtype=object)
    return rows


#: an image's plan version and its planned detections split into ``check``, ``fix``,
#: ``unchecked`` and ``ignored``
Planned = tuple[str, dict[str, Detections]]


def _split(entry: dict[str, Any], dets: Detections | None, image_id: int) -> Planned | None:
    rows = None if dets is None else _rows(entry, len(dets), image_id)
    if dets is None or rows is None:
        return None
    parts = split_parts(dets, rows["items"], rows["kinds"], rows["unchecked"], rows["ignored"])
    return str(entry["version"]), parts


def _planned(ws: Workspace, image_id: int, round_id: int | None = None) -> Planned | None:
    """The image's plan version and its planned parts, or ``None``."""
    entry = plan_of(ws, image_id, round_id)
    if entry is None or not isinstance(entry.get("version"), str):
        return None
    return _split(entry, ws.store.prediction(entry["version"], image_id), image_id)


def plans_of(ws: Workspace, image_ids: Sequence[int]) -> dict[int, Planned]:
    """:func:`_planned` of many images (each at its task's round), in a few queries: the
    tasks, the plan entries and each plan version's predictions read together. Images
    not reviewed item by item are left out."""
    if not review_used(ws):
        return {}
    wanted = {int(i) for i in image_ids}
    rounds = {t.image_id: t.round_id for t in ws.store.tasks()
              if t.image_id in wanted and t.round_id is not None}  # fmt: skip
    keys = {f"{PLAN_KEY}{int(r)}.{int(i)}": i for i, r in rounds.items()}
    entries = {keys[k]: e for k, e in ws.store.get_many(keys).items()
               if isinstance(e, dict) and e.get("full") is False
               and isinstance(e.get("version"), str)}  # fmt: skip
    by_version: dict[str, list[int]] = {}
    for image_id, entry in entries.items():
        by_version.setdefault(entry["version"], []).append(image_id)
    out: dict[int, Planned] = {}
    for version, ids in by_version.items():
        dets = ws.store.predictions_of(version, ids)
        for image_id in ids:
            planned = _split(entries[image_id], dets.get(image_id), image_id)
            if planned is not None:
                out[image_id] = planned
    return out


def review_parts(
    ws: Workspace, image_id: int, round_id: int | None = None
) -> dict[str, Detections] | None:
    """The image's planned detections split into ``check``, ``fix``, ``unchecked`` and
    ``ignored`` (as :meth:`ReviewPlan.for_image` gives them), or ``None``."""
    planned = _planned(ws, image_id, round_id)
    return None if planned is None else planned[1]


def task_prelabel(
    ws: Workspace, image_id: int, round_id: int | None = None
) -> tuple[Detections, list[str]] | None:
    """What a box-review task shows: the items, check items first, and each one's kind;
    ``None`` when the image is not reviewed item by item."""
    parts = review_parts(ws, image_id, round_id)
    return None if parts is None else shown_items(parts)


def check_tally(ws: Workspace, planned: dict[int, Planned] | None = None) -> dict[str, list[int]]:
    """Per model version, of the check items people answered, how many they found right
    (one-to-one, a box of the same class kept at IoU 0.5 or more, as the benchmark's
    annotator counts them) and how many there were. ``planned``: :func:`plans_of` the
    answered images, when the caller has it."""
    out: dict[str, list[int]] = {}
    if not review_used(ws):
        return out
    answers = {a.image_id: a for a in ws.store.annotations()}
    if planned is None:
        planned = plans_of(ws, list(answers))
    for image_id, answer in answers.items():
        if image_id not in planned or not len(planned[image_id][1]["check"]):
            continue
        version, parts = planned[image_id]
        kept = np.asarray([b["xyxy"] for b in answer.boxes], np.float64).reshape(-1, 4)
        kept_cls = np.asarray([b["class_id"] for b in answer.boxes], np.int64)
        iou = box_iou(parts["check"].xyxy, kept)
        iou[parts["check"].class_id[:, None] != kept_cls[None, :]] = 0.0
        tally = out.setdefault(version, [0, 0])
        tally[0] += len(match_boxes(iou, MATCH_IOU)) if len(kept) else 0
        tally[1] += len(parts["check"])
    return out


def trusted_versions(ws: Workspace, planned: dict[int, Planned] | None = None) -> dict[str, bool]:
    """Per model version, whether its unchecked sure boxes train as its boxes
    (:func:`~hitl_active.sampling.review.trust_unchecked` over its answered check items;
    ``planned`` as :func:`check_tally` takes it)."""
    return {v: trust_unchecked(*t) for v, t in check_tally(ws, planned).items()}


def unasked_boxes(
    ws: Workspace,
    image_id: int,
    trusted: dict[str, bool] | None = None,
    planned: dict[int, Planned] | None = None,
) -> list[dict[str, Any]]:
    """The planned boxes nobody was asked about, as JSON boxes (``source: model``): sure
    pre-labels left unchecked (``unasked: check``; also ``ignore: true`` unless their
    version is trusted, see :func:`trusted_versions`, computed here when not given) and
    uncertain regions left unasked (``unasked: fix``, ``ignore: true``: masked in
    training). Empty when the image is not reviewed item by item. ``planned``:
    :func:`plans_of` images including this one, when the caller reads many (else the
    image's plan is read here)."""
    if planned is not None:
        mine = planned.get(int(image_id))
    else:
        mine = _planned(ws, image_id) if review_used(ws) else None
    if mine is None:
        return []
    version, parts = mine
    if trusted is None:
        trusted = trusted_versions(ws, planned)
    unchecked = {"unasked": "check"} | ({} if trusted.get(version) else {"ignore": True})
    out = []
    for name, extra in (("unchecked", unchecked), ("ignored", {"unasked": "fix", "ignore": True})):
        det = parts[name]
        for box, cid, score in zip(det.xyxy, det.class_id, det.confidence, strict=True):
            out.append({
                "xyxy": [round(float(v), 2) for v in box], "class_id": int(cid),
                "source": "model", "model_version": version, "score": round(float(score), 4),
                **extra,
            })  # fmt: skip
    return out
