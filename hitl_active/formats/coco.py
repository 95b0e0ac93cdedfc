"""COCO detection JSON: ``images``, ``annotations`` (``bbox`` = ``[x, y, w, h]`` in pixels) and
``categories``.

Conventions chosen here:

* Category ids written are ``class index + 1`` (1..C), as in the COCO files themselves, so no
  category takes id 0, which several toolkits reserve for background. When reading, any set of
  ids is accepted: categories are sorted by id and numbered 0..C-1 in that order.
* Image ids and annotation ids written are 1-based, in input order.
* Boxes are continuous pixel coordinates of the displayed (EXIF-corrected) image; written as
  the shortest decimals that read back to the same float32, so a round trip is exact to
  float32 precision (about 1e-5 px).
* Per-box extras go into each annotation: ``score`` (a model's confidence, as in COCO results
  files) and ``attributes`` (the ``box_meta`` dict: provenance such as ``source``,
  ``model_version``, ``annotator``). Readers that do not know them ignore them.
* Crowd annotations (``iscrowd: 1``) are regions, not objects; they are skipped when reading.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from hitl_active.formats.core import ImageLabels

__all__ = ["from_coco", "read_coco", "to_coco", "write_coco"]

logger = logging.getLogger(__name__)

#: Boxes may overshoot the image by this many pixels (plus 1 % of its size) and are clipped.
TOLERANCE_PX = 1.0


def _num(value: float) -> float:
    """The shortest decimal that reads back to the same float32 (clean, exact JSON)."""
    return float(str(np.float32(value)))


def plain(value: Any) -> Any:
    """``value`` with numpy scalars and arrays turned into Python ones (JSON-ready)."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, (np.generic, np.ndarray)):
        return value.tolist()
    return value


def to_coco(
    items: Sequence[ImageLabels],
    class_names: Sequence[str],
    info: dict[str, Any] | None = None,
    relative_to: str | Path | None = None,
) -> dict[str, Any]:
    """Build a COCO detection dict from labels of several images.

    Args:
        items: one :class:`ImageLabels` per image; ``image`` becomes ``file_name``.
        class_names: names for class indices 0..C-1 (category ids 1..C).
        info: the COCO ``info`` block (description, version, ...), copied as given.
        relative_to: when given, ``file_name`` is the image path relative to this folder.

    ``scores`` become annotation ``score`` and ``box_meta`` dicts become annotation
    ``attributes``, so provenance (``{"source": "model", "model_version": ...}``) survives.

    Raises:
        ValueError: a class id outside ``class_names``, or box_meta that is not JSON-serialisable.
    """
    images: list[dict[str, Any]] = []
    annotations: list[dict[str, Any]] = []
    for image_id, labels in enumerate(items, start=1):
        file_name = labels.image
        if relative_to is not None:
            try:
                file_name = Path(labels.image).relative_to(relative_to).as_posix()
            except ValueError as exc:
                raise ValueError(
                    f"image {labels.image!r} is not inside relative_to={str(relative_to)!r}; "
                    "pass the folder that holds all images, or relative_to=None"
                ) from exc
        images.append(
            {"id": image_id, "file_name": file_name, "width": labels.width, "height": labels.height}
        )
        for i in range(len(labels)):
            cls = int(labels.class_id[i])
            if not 0 <= cls < len(class_names):
                raise ValueError(
                    f"{labels.image}: class id {cls} is out of range for {len(class_names)} "
                    f"class names {list(class_names)}"
                )
            x1, y1, x2, y2 = (float(v) for v in labels.xyxy[i])
            w, h = _num(x2 - x1), _num(y2 - y1)
            ann: dict[str, Any] = {
                "id": len(annotations) + 1,
                "image_id": image_id,
                "category_id": cls + 1,
                "bbox": [_num(x1), _num(y1), w, h],
                "area": _num(w * h),
                "iscrowd": 0,
            }
            if labels.scores is not None and math.isfinite(float(labels.scores[i])):
                ann["score"] = _num(labels.scores[i])
            if labels.box_meta and labels.box_meta[i]:
                ann["attributes"] = plain(labels.box_meta[i])
            annotations.append(ann)
    categories = [
        {"id": i + 1, "name": str(name), "supercategory": ""} for i, name in enumerate(class_names)
    ]
    out = {
        "info": dict(info) if info else {},
        "licenses": [],
        "images": images,
        "annotations": annotations,
        "categories": categories,
    }
    try:
        json.dumps(out)
    except TypeError as exc:
        raise ValueError(
            f"box_meta must hold JSON-serialisable values (str, numbers, lists, dicts): {exc}"
        ) from exc
    return out


def _require(obj: dict[str, Any], key: str, where: str) -> Any:
    if not isinstance(obj, dict) or key not in obj:
        raise ValueError(f"COCO {where} has no {key!r} field; expected a COCO detection file")
    return obj[key]


def _box(ann: dict[str, Any], width: int, height: int, where: str) -> list[float]:
    bbox = _require(ann, "bbox", where)
    try:
        x, y, w, h = (float(v) for v in bbox)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{where}: bbox must be 4 numbers [x, y, w, h], got {bbox!r}") from exc
    if not all(math.isfinite(v) for v in (x, y, w, h)) or w < 0 or h < 0:
        raise ValueError(f"{where}: bbox must be finite with w, h >= 0, got {bbox!r}")
    box = [x, y, x + w, y + h]
    tol_x, tol_y = TOLERANCE_PX + 0.01 * width, TOLERANCE_PX + 0.01 * height
    if box[0] < -tol_x or box[1] < -tol_y or box[2] > width + tol_x or box[3] > height + tol_y:
        raise ValueError(
            f"{where}: bbox {bbox!r} lies outside its {width}x{height} image; COCO bbox is "
            "[x, y, width, height] in pixels"
        )
    limits = (width, height, width, height)
    return [min(max(v, 0.0), limit) for v, limit in zip(box, limits, strict=True)]


def _whole_positive(value: Any) -> bool:
    """True for 640 or 640.0; False for 0, -1, 640.5, "640", None."""
    return (
        isinstance(value, (int, float))
        and not isinstance(value, bool)
        and math.isfinite(value)
        and float(value).is_integer()
        and value > 0
    )


def from_coco(data: dict[str, Any]) -> tuple[list[ImageLabels], list[str]]:
    """Read a COCO detection dict into per-image labels and class names.

    Images are returned in the order of ``images`` (images without annotations included,
    with no boxes). Category ids need not be contiguous: sorted by id they map to class
    indices 0..C-1. ``score`` and ``attributes`` of annotations come back as ``scores``
    (NaN where one box of an image has none) and ``box_meta``.

    Raises:
        ValueError: a missing field, an annotation naming an unknown image or category,
            an image without a positive width/height, or a bbox far outside its image.
    """
    cats = sorted(_require(data, "categories", "file"), key=lambda c: _require(c, "id", "category"))
    cat_to_class = {c["id"]: i for i, c in enumerate(cats)}
    if len(cat_to_class) != len(cats):
        raise ValueError("COCO categories have duplicate ids; each category needs its own id")
    names = [str(_require(c, "name", f"category {c['id']}")) for c in cats]
    images: dict[Any, dict[str, Any]] = {}
    for img in _require(data, "images", "file"):
        image_id = _require(img, "id", "image")
        if image_id in images:
            raise ValueError(f"COCO image id {image_id!r} appears twice; image ids must be unique")
        for key in ("file_name", "width", "height"):
            _require(img, key, f"image {image_id!r}")
        if not (_whole_positive(img["width"]) and _whole_positive(img["height"])):
            raise ValueError(
                f"COCO image {image_id!r}: width and height must be positive integers, got "
                f"{img['width']!r}x{img['height']!r}; fix them from the image files"
            )
        images[image_id] = {"img": img, "boxes": [], "cls": [], "scores": [], "meta": []}
    skipped_crowd = 0
    for ann in data.get("annotations", []):
        where = f"COCO annotation {ann.get('id', '?')!r}"
        entry = images.get(_require(ann, "image_id", where))
        if entry is None:
            raise ValueError(f"{where}: image_id {ann['image_id']!r} is not in 'images'")
        category = _require(ann, "category_id", where)
        if category not in cat_to_class:
            raise ValueError(
                f"{where}: unknown category_id {category!r}; known ids are {sorted(cat_to_class)}"
            )
        if ann.get("iscrowd", 0):
            skipped_crowd += 1
            continue
        img = entry["img"]
        entry["boxes"].append(_box(ann, int(img["width"]), int(img["height"]), where))
        entry["cls"].append(cat_to_class[category])
        entry["scores"].append(float(ann["score"]) if "score" in ann else math.nan)
        entry["meta"].append(dict(ann.get("attributes") or {}))
    if skipped_crowd:
        logger.info("skipped %d crowd annotations (iscrowd=1)", skipped_crowd)
    out = []
    for entry in images.values():
        img = entry["img"]
        scores = np.array(entry["scores"], np.float32)
        has_scores = bool(len(scores)) and not np.isnan(scores).all()
        try:
            out.append(
                ImageLabels(
                    str(img["file_name"]),
                    int(img["width"]),
                    int(img["height"]),
                    xyxy=np.array(entry["boxes"], np.float64).reshape(-1, 4),
                    class_id=entry["cls"],
                    scores=scores if has_scores else None,
                    box_meta=entry["meta"] if any(entry["meta"]) else [],
                )
            )
        except ValueError as exc:
            raise ValueError(f"COCO image {img['id']!r}: {exc}") from exc
    return out, names


def read_coco(path: str | Path) -> tuple[list[ImageLabels], list[str]]:
    """Read a COCO JSON file (see :func:`from_coco`)."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path} is not valid JSON: {exc}") from exc
    try:
        return from_coco(data)
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from exc


def write_coco(
    items: Sequence[ImageLabels],
    path: str | Path,
    class_names: Sequence[str],
    info: dict[str, Any] | None = None,
    relative_to: str | Path | None = None,
    indent: int | None = None,
) -> Path:
    """Write :func:`to_coco` output to ``path`` (``box_meta`` kept as ``attributes``)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = to_coco(items, class_names, info=info, relative_to=relative_to)
    path.write_text(json.dumps(data, indent=indent), encoding="utf-8")
    return path
