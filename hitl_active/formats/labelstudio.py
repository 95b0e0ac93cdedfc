"""Label Studio ``RectangleLabels`` results ⇄ pixel boxes.

Label Studio stores a rectangle as ``x, y, width, height`` in percent of the original image
size (``original_width``, ``original_height``), the top-left corner first, plus a
``rotation`` in degrees around that corner. These converters are pure functions:

* :func:`to_ls_results` turns :class:`~hitl_active.formats.ImageLabels` or
  :class:`~hitl_active.detections.Detections` into a list of result dicts (one region per box,
  with the box's ``score`` when known);
* :func:`from_ls_results` turns results back into ``ImageLabels``.

Rotated rectangles (``rotation != 0``) are converted to their axis-aligned bounding box and
the box's ``box_meta`` keeps ``{"rotation": degrees}``, so nothing is silently dropped;
pass ``rotation="reject"`` to raise instead. A round trip is exact up to float rounding
(well within 1 px).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from hitl_active.detections import Detections
from hitl_active.formats.core import ImageLabels

__all__ = ["LabelStudioFormatError", "from_ls_results", "region_box", "to_ls_results"]

RECTANGLE_TYPES = ("rectanglelabels", "rectangle")


class LabelStudioFormatError(ValueError):
    """A Label Studio result that cannot be read as a labelled box."""


def to_ls_results(
    labels: ImageLabels | Detections,
    class_names: Sequence[str],
    from_name: str = "label",
    to_name: str = "image",
    width: int | None = None,
    height: int | None = None,
    id_prefix: str = "r",
) -> list[dict[str, Any]]:
    """One ``rectanglelabels`` result per box, coordinates in percent of the image size.

    ``width``/``height`` are needed only for ``Detections`` without ``image_size``. Each
    region gets a stable id (``{id_prefix}{index}``) so an annotation that starts from these
    results can be diffed against them.
    """
    if isinstance(labels, Detections):
        size = labels.image_size or (width, height)
        scores: np.ndarray | None = labels.confidence
    else:
        size = (labels.width, labels.height)
        scores = labels.scores
    w, h = size
    if not w or not h:
        raise ValueError(
            "to_ls_results needs the image size: pass width= and height=, or Detections "
            "with image_size set"
        )
    results = []
    for i, (box, cid) in enumerate(zip(labels.xyxy, labels.class_id, strict=True)):
        if not 0 <= int(cid) < len(class_names):
            raise ValueError(
                f"class id {int(cid)} has no name: the project has {len(class_names)} classes "
                f"{list(class_names)}"
            )
        x1, y1, x2, y2 = (float(v) for v in box)
        x1, x2 = max(0.0, min(x1, w)), max(0.0, min(x2, w))
        y1, y2 = max(0.0, min(y1, h)), max(0.0, min(y2, h))
        region: dict[str, Any] = {
            "id": f"{id_prefix}{i}",
            "from_name": from_name,
            "to_name": to_name,
            "type": "rectanglelabels",
            "original_width": int(w),
            "original_height": int(h),
            "image_rotation": 0,
            "value": {
                "x": 100.0 * x1 / w,
                "y": 100.0 * y1 / h,
                "width": 100.0 * (x2 - x1) / w,
                "height": 100.0 * (y2 - y1) / h,
                "rotation": 0,
                "rectanglelabels": [class_names[int(cid)]],
            },
        }
        if scores is not None:
            region["score"] = round(float(scores[i]), 6)
        results.append(region)
    return results


def region_box(
    region: Mapping[str, Any], width: float, height: float, rotation: str = "bbox"
) -> tuple[float, float, float, float, float]:
    """``(x1, y1, x2, y2, rotation_degrees)`` in pixels for one rectangle result."""
    value = region.get("value") or {}
    try:
        x, y = float(value["x"]), float(value["y"])
        bw, bh = float(value["width"]), float(value["height"])
    except (KeyError, TypeError, ValueError) as exc:
        raise LabelStudioFormatError(
            f"rectangle region {region.get('id')!r} lacks numeric x, y, width, height "
            f"in its value: {dict(value)!r}"
        ) from exc
    x1, y1, bw, bh = x * width / 100.0, y * height / 100.0, bw * width / 100.0, bh * height / 100.0
    angle = float(value.get("rotation") or 0.0)
    if abs(angle) < 1e-9:
        return x1, y1, x1 + bw, y1 + bh, 0.0
    if rotation == "reject":
        raise LabelStudioFormatError(
            f"region {region.get('id')!r} is rotated by {angle} degrees; this project expects "
            "axis-aligned boxes (draw without rotating, or convert with rotation='bbox')"
        )
    # Label Studio rotates clockwise around the top-left corner (screen coordinates).
    rad = math.radians(angle)
    cos, sin = math.cos(rad), math.sin(rad)
    xs = [x1 + dx * cos - dy * sin for dx, dy in ((0, 0), (bw, 0), (bw, bh), (0, bh))]
    ys = [y1 + dx * sin + dy * cos for dx, dy in ((0, 0), (bw, 0), (bw, bh), (0, bh))]
    return (
        max(0.0, min(xs)),
        max(0.0, min(ys)),
        min(float(width), max(xs)),
        min(float(height), max(ys)),
        angle,
    )


def from_ls_results(
    results: Sequence[Mapping[str, Any]],
    class_names: Sequence[str],
    image: str,
    width: int | None = None,
    height: int | None = None,
    from_name: str | None = None,
    rotation: str = "bbox",
    size: tuple[int, int] | None = None,
) -> ImageLabels:
    """Read the rectangles of one annotation or prediction back into pixel boxes.

    Results of other types (or of another ``from_name`` when given) are ignored. The image
    size comes from the results' ``original_width``/``original_height``; ``width``/``height``
    are the fallback for an empty result list. ``size`` (the original's ``(width, height)``)
    overrides both: Label Studio's percentages are of the image it showed, which may be a
    smaller copy (:mod:`hitl_active.labelstudio.light`), whose size the results then carry.
    Unknown labels raise, naming the known ones.
    """
    if size is not None:
        width, height = int(size[0]), int(size[1])
    index = {name: i for i, name in enumerate(class_names)}
    boxes, cids, scores, meta = [], [], [], []
    for region in results:
        if region.get("type") not in RECTANGLE_TYPES:
            continue
        if from_name is not None and region.get("from_name") != from_name:
            continue
        w = width if size is not None else region.get("original_width") or width
        h = height if size is not None else region.get("original_height") or height
        if not w or not h:
            raise LabelStudioFormatError(
                f"region {region.get('id')!r} of {image!r} has no original_width/height and "
                "no image size was given"
            )
        width, height = int(w), int(h)
        names = (region.get("value") or {}).get("rectanglelabels") or []
        if not names:
            raise LabelStudioFormatError(
                f"region {region.get('id')!r} of {image!r} has no label; every box needs one "
                f"of {list(class_names)}"
            )
        if names[0] not in index:
            raise LabelStudioFormatError(
                f"label {names[0]!r} on {image!r} is not a project class; expected one of "
                f"{list(class_names)} (fix the labeling config or the class list)"
            )
        x1, y1, x2, y2, angle = region_box(region, width, height, rotation)
        boxes.append((x1, y1, x2, y2))
        cids.append(index[names[0]])
        scores.append(region.get("score"))
        entry: dict[str, Any] = {"region_id": region.get("id")}
        if angle:
            entry["rotation"] = angle
        meta.append(entry)
    if not width or not height:
        raise LabelStudioFormatError(
            f"no image size for {image!r}: the results are empty, pass width= and height="
        )
    has_scores = bool(scores) and all(s is not None for s in scores)
    return ImageLabels(
        image=image,
        width=int(width),
        height=int(height),
        xyxy=np.asarray(boxes, np.float32).reshape(-1, 4),
        class_id=np.asarray(cids, np.int64),
        scores=np.asarray(scores, np.float32) if has_scores else None,
        box_meta=meta,
    )
