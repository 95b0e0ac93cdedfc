"""Pascal VOC XML: one ``<annotation>`` file per image with ``<size>`` and ``<object>`` boxes.

Coordinate convention: VOC stores 1-based, inclusive integer pixel indices. Pixel ``i``
(1-based) covers the continuous interval ``[i - 1, i]``, so

* reading: ``x1 = xmin - 1``, ``y1 = ymin - 1``, ``x2 = xmax``, ``y2 = ymax``;
* writing: ``xmin = round(x1) + 1``, ``ymin = round(y1) + 1``, ``xmax = round(x2)``,
  ``ymax = round(y2)``.

A box on whole pixels round-trips exactly; any other box at least one pixel wide and high
moves by at most 0.5 px per side (rounding half up). A narrower box grows to one whole pixel,
the smallest VOC can hold. A full-image box is ``1, 1, W, H`` in VOC and ``0, 0, W, H`` here.

Extras: ``box_meta`` keys ``difficult``, ``truncated`` and ``pose`` map to the standard
elements; every other key is written as a child of ``<provenance>`` inside ``<object>``
(e.g. ``<provenance><source>model</source><model_version>v3</model_version></provenance>``),
and a score as ``<score>``. Standard VOC readers ignore both.
"""

from __future__ import annotations

import json
import logging
import math
import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from hitl_active.data.images import (
    IMAGE_SUFFIXES,
    ImageReadError,
    exif_orientation,
    image_size,
    open_image,
)
from hitl_active.formats.coco import plain
from hitl_active.formats.core import ImageLabels

__all__ = ["from_voc_xml", "read_voc_dir", "to_voc_xml", "write_voc_dir"]

logger = logging.getLogger(__name__)

_STANDARD = ("pose", "truncated", "difficult")
_XML_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")
#: Boxes may overshoot ``<size>`` by this many pixels and are clipped; further is an error.
TOLERANCE_PX = 2.0


def _sub(parent: ET.Element, tag: str, text: Any = None) -> ET.Element:
    el = ET.SubElement(parent, tag)
    if text is not None:
        el.text = str(text)
    return el


def _round(value: float) -> int:
    """Half up (not Python's half-to-even), so both sides of a box round the same way."""
    return math.floor(value + 0.5)


def to_voc_xml(
    labels: ImageLabels, class_names: Sequence[str], folder: str = "images", depth: int = 3
) -> str:
    """One VOC annotation document for ``labels`` (see the module doc for the conventions).

    ``box_meta`` is written: ``difficult``/``truncated``/``pose`` as VOC elements, other keys
    under ``<provenance>`` (strings as text, other values as JSON with ``type="json"``).

    Raises:
        ValueError: a class id outside ``class_names`` or a box_meta key that is not a valid
            XML element name.
    """
    root = ET.Element("annotation")
    _sub(root, "folder", folder)
    _sub(root, "filename", Path(labels.image).name)
    _sub(root, "path", labels.image)
    _sub(_sub(root, "source"), "database", "Unknown")
    size = _sub(root, "size")
    _sub(size, "width", labels.width)
    _sub(size, "height", labels.height)
    _sub(size, "depth", depth)
    _sub(root, "segmented", 0)
    for i in range(len(labels)):
        cls = int(labels.class_id[i])
        if not 0 <= cls < len(class_names):
            raise ValueError(
                f"{labels.image}: class id {cls} is out of range for {len(class_names)} class names"
            )
        meta = labels.box_meta[i] if labels.box_meta else {}
        obj = _sub(root, "object")
        _sub(obj, "name", class_names[cls])
        _sub(obj, "pose", meta.get("pose", "Unspecified"))
        _sub(obj, "truncated", int(meta.get("truncated", 0)))
        _sub(obj, "difficult", int(meta.get("difficult", 0)))
        x1, y1, x2, y2 = (float(v) for v in labels.xyxy[i])
        xmin = min(max(_round(x1) + 1, 1), labels.width)
        ymin = min(max(_round(y1) + 1, 1), labels.height)
        xmax = min(max(_round(x2), xmin), labels.width)
        ymax = min(max(_round(y2), ymin), labels.height)
        box = _sub(obj, "bndbox")
        for tag, value in zip(
            ("xmin", "ymin", "xmax", "ymax"), (xmin, ymin, xmax, ymax), strict=True
        ):
            _sub(box, tag, value)
        if labels.scores is not None and math.isfinite(float(labels.scores[i])):
            _sub(obj, "score", repr(float(np.float32(labels.scores[i]))))
        extra = {k: v for k, v in meta.items() if k not in _STANDARD}
        if extra:
            prov = _sub(obj, "provenance")
            for key, value in extra.items():
                if not _XML_NAME.match(str(key)):
                    raise ValueError(
                        f"{labels.image}: box_meta key {key!r} is not a valid XML element name; "
                        "use letters, digits, '_', '-' or '.'"
                    )
                if isinstance(value, str):
                    _sub(prov, key, value)
                else:
                    try:
                        text = json.dumps(plain(value))
                    except TypeError as exc:
                        raise ValueError(
                            f"{labels.image}: box_meta[{key!r}] is not JSON-serialisable: {exc}"
                        ) from exc
                    _sub(prov, key, text).set("type", "json")
    ET.indent(root, space="\t")
    return ET.tostring(root, encoding="unicode") + "\n"


def _parse_root(text_or_path: str | Path) -> tuple[ET.Element, str]:
    """The root element and a name for error messages."""
    is_text = isinstance(text_or_path, str) and text_or_path.lstrip().startswith("<")
    name = "VOC XML" if is_text else str(text_or_path)
    try:
        root = ET.fromstring(text_or_path) if is_text else ET.parse(text_or_path).getroot()
    except ET.ParseError as exc:
        raise ValueError(f"{name}: not valid XML ({exc})") from exc
    if root.tag != "annotation":
        raise ValueError(f"{name}: root element is <{root.tag}>, expected <annotation>")
    return root, name


def _number(text: str, where: str) -> float:
    try:
        return float(text)
    except ValueError as exc:
        raise ValueError(f"{where} must be a number, got {text!r}") from exc


def _int_or_zero(text: str | None) -> int:
    try:
        return int(float(text)) if text else 0
    except ValueError:
        return 0


def from_voc_xml(
    text_or_path: str | Path,
    class_names: list[str] | None = None,
    image_size: tuple[int, int] | None = None,
    extend_classes: bool | None = None,
) -> tuple[ImageLabels, list[str]]:
    """Parse one VOC annotation (XML text or a file path).

    Args:
        class_names: the known class list. An unknown ``<name>`` is an error unless
            ``extend_classes`` (default: when ``class_names`` is None) appends it.
        image_size: the true ``(width, height)``; needed when ``<size>`` is missing or zero.
            Use :func:`read_voc_dir` to check ``<size>`` against the image files.

    Returns:
        The labels (``image`` is ``<filename>``) and the class list, possibly extended.

    Raises:
        ValueError: invalid XML, an unknown class, a malformed box, or no usable size.
    """
    root, name = _parse_root(text_or_path)
    names = list(class_names) if class_names is not None else []
    extend = class_names is None if extend_classes is None else extend_classes
    width, height = image_size if image_size is not None else _xml_size(root)
    if width <= 0 or height <= 0:
        raise ValueError(
            f"{name}: <size> is missing or zero ({width}x{height}); pass image_size, or use "
            "read_voc_dir(..., images_dir=...) to take sizes from the images"
        )
    return _labels_from_root(root, name, names, extend, width, height), names


def _xml_size(root: ET.Element) -> tuple[int, int]:
    """``(width, height)`` from ``<size>``; 0 where missing or unreadable."""
    return _int_or_zero(root.findtext("size/width")), _int_or_zero(root.findtext("size/height"))


def _labels_from_root(
    root: ET.Element, name: str, names: list[str], extend: bool, width: int, height: int
) -> ImageLabels:
    """Boxes of one document; ``names`` is extended in place when ``extend``."""
    boxes, classes, scores, metas = [], [], [], []
    for k, obj in enumerate(root.iter("object"), start=1):
        where = f"{name}, object {k}"
        cls_name = (obj.findtext("name") or "").strip()
        if cls_name not in names:
            if not extend:
                raise ValueError(f"{where}: unknown class {cls_name!r}; known classes: {names}")
            names.append(cls_name)
        try:
            xmin, ymin, xmax, ymax = (
                float(obj.findtext(f"bndbox/{t}")) for t in ("xmin", "ymin", "xmax", "ymax")
            )
        except (TypeError, ValueError) as exc:
            raise ValueError(
                f"{where}: <bndbox> needs numeric xmin, ymin, xmax, ymax (1-based pixels)"
            ) from exc
        if xmax < xmin or ymax < ymin:
            raise ValueError(
                f"{where}: xmax/ymax must not be below xmin/ymin, got "
                f"{xmin:g},{ymin:g},{xmax:g},{ymax:g}"
            )
        box = [xmin - 1, ymin - 1, xmax, ymax]
        limit = TOLERANCE_PX
        if min(box[:2]) < -limit or box[2] > width + limit or box[3] > height + limit:
            raise ValueError(
                f"{where}: box {xmin:g},{ymin:g},{xmax:g},{ymax:g} lies outside the "
                f"{width}x{height} image"
            )
        boxes.append(np.clip(box, 0, [width, height, width, height]))
        classes.append(names.index(cls_name))
        score = obj.findtext("score")
        scores.append(_number(score, f"{where}: <score>") if score else math.nan)
        meta: dict[str, Any] = {}
        for tag in _STANDARD:
            text = (obj.findtext(tag) or "").strip()
            if tag == "pose" and text not in ("", "Unspecified"):
                meta[tag] = text
            elif tag != "pose" and text and _number(text, f"{where}: <{tag}>") != 0:
                meta[tag] = int(_number(text, f"{where}: <{tag}>"))
        prov = obj.find("provenance")
        for child in prov if prov is not None else []:
            text = child.text or ""
            try:
                meta[child.tag] = json.loads(text) if child.get("type") == "json" else text
            except json.JSONDecodeError as exc:
                raise ValueError(f"{where}: <provenance><{child.tag}> is not JSON") from exc
        metas.append(meta)
    score_arr = np.array(scores, np.float32)
    return ImageLabels(
        (root.findtext("filename") or "").strip() or name,
        width,
        height,
        xyxy=np.array(boxes, np.float64).reshape(-1, 4),
        class_id=classes,
        scores=score_arr if len(scores) and not np.isnan(score_arr).all() else None,
        box_meta=metas if any(metas) else [],
    )


def raw_to_displayed(xyxy: np.ndarray, orientation: int, raw_size: tuple[int, int]) -> np.ndarray:
    """Map boxes drawn on the stored (raw) pixels of an image to its EXIF-displayed pixels.

    ``orientation`` is the EXIF tag (1-8) and ``raw_size`` the stored ``(width, height)``.
    Tools that ignore EXIF (labelImg with Qt 5, for one) save boxes in the raw frame.
    """
    w, h = raw_size
    x1, y1, x2, y2 = (np.asarray(xyxy, np.float64).reshape(-1, 4)[:, i] for i in range(4))
    corners = {
        1: (x1, y1, x2, y2),
        2: (w - x2, y1, w - x1, y2),
        3: (w - x2, h - y2, w - x1, h - y1),
        4: (x1, h - y2, x2, h - y1),
        5: (y1, x1, y2, x2),
        6: (h - y2, x1, h - y1, x2),
        7: (h - y2, w - x2, h - y1, w - x1),
        8: (y1, w - x2, y2, w - x1),
    }
    if orientation not in corners:
        raise ValueError(f"EXIF orientation must be 1-8, got {orientation}")
    return np.stack(corners[orientation], axis=1)


def _find_image(images_dir: Path, filename: str, xml_path: Path) -> Path | None:

    if filename and (images_dir / filename).is_file():
        return images_dir / filename
    for stem in (Path(filename).stem, xml_path.stem):
        for suffix in sorted(IMAGE_SUFFIXES):
            for candidate in (
                images_dir / f"{stem}{suffix}",
                images_dir / f"{stem}{suffix.upper()}",
            ):
                if candidate.is_file():
                    return candidate
    return None


def _read_with_image(
    xml_path: Path, images_dir: Path, names: list[str], extend: bool, on_size_mismatch: str
) -> ImageLabels:
    """One annotation with ``<size>`` checked against its image file (see read_voc_dir)."""

    root, name = _parse_root(xml_path)
    xml_w, xml_h = _xml_size(root)
    image = _find_image(images_dir, (root.findtext("filename") or "").strip(), xml_path)
    if image is None:
        if on_size_mismatch == "raise" or xml_w <= 0 or xml_h <= 0:
            raise ValueError(f"{name}: no image for it in {images_dir}")
        logger.warning("%s: no image in %s; using <size> %dx%d", name, images_dir, xml_w, xml_h)
        return _labels_from_root(root, name, names, extend, xml_w, xml_h)
    width, height = image_size(image)
    with open_image(image) as im:
        raw, orientation = im.size, exif_orientation(im)
    if xml_w <= 0 or xml_h <= 0 or (xml_w, xml_h) == (width, height):
        if xml_w <= 0 or xml_h <= 0:
            logger.info(
                "%s: <size> is missing or zero; using the image's %dx%d", name, width, height
            )
        labels = _labels_from_root(root, name, names, extend, width, height)
    elif orientation in (5, 6, 7, 8) and (xml_w, xml_h) == raw:
        logger.warning(
            "%s: boxes were drawn on the un-rotated pixels (EXIF orientation %d); rotating them",
            name,
            orientation,
        )
        labels = _labels_from_root(root, name, names, extend, xml_w, xml_h)
        labels.xyxy = raw_to_displayed(labels.xyxy, orientation, raw).astype(np.float32)
    elif on_size_mismatch == "raise":
        raise ValueError(
            f"{name}: <size> {xml_w}x{xml_h} differs from image {image} ({width}x{height}); fix "
            "the XML, or pass on_size_mismatch='scale' (image resized) or 'warn' (keep boxes)"
        )
    else:
        labels = _labels_from_root(root, name, names, extend, xml_w, xml_h)
        if on_size_mismatch == "scale":
            labels.xyxy *= np.array([width / xml_w, height / xml_h] * 2, np.float32)
        logger.warning(
            "%s: <size> %dx%d differs from image %dx%d; boxes %s",
            name,
            xml_w,
            xml_h,
            width,
            height,
            "scaled" if on_size_mismatch == "scale" else "kept and clipped",
        )
    labels.xyxy = np.clip(labels.xyxy, 0, np.array([width, height] * 2, np.float32))
    return ImageLabels(
        str(image), width, height, labels.xyxy, labels.class_id, labels.scores, labels.box_meta
    )


def read_voc_dir(
    annotations_dir: str | Path,
    images_dir: str | Path | None = None,
    class_names: Sequence[str] | None = None,
    on_size_mismatch: str = "warn",
    skip_unreadable: bool = False,
) -> tuple[list[ImageLabels], list[str]]:
    """Read every ``*.xml`` in ``annotations_dir`` (sorted by name).

    Without ``images_dir``, sizes come from ``<size>`` and ``image`` is ``<filename>``.
    With it, ``image`` is the image's path and ``<size>`` is checked against the displayed
    size (:func:`hitl_active.data.images.image_size`): a missing or zero size takes the
    image's; the un-rotated size of an EXIF-rotated image means boxes were drawn on raw
    pixels, and they are rotated; any other mismatch follows ``on_size_mismatch``:
    ``"warn"`` (keep boxes, clip to the image), ``"scale"`` (the image was resized after
    labelling) or ``"raise"``.

    Without ``class_names``, classes are the sorted set of names found. With
    ``skip_unreadable`` an annotation whose image cannot be read is left out with a warning
    giving the reason, instead of raising.
    """

    if on_size_mismatch not in ("warn", "scale", "raise"):
        raise ValueError(
            f"on_size_mismatch must be 'warn', 'scale' or 'raise', got {on_size_mismatch!r}"
        )
    annotations_dir = Path(annotations_dir)
    paths = sorted(annotations_dir.glob("*.xml"))
    if not paths:
        raise FileNotFoundError(f"no *.xml annotations in {annotations_dir}")
    names = list(class_names) if class_names is not None else []
    extend = class_names is None
    items = []
    for path in paths:
        if images_dir is not None:
            try:
                labels = _read_with_image(path, Path(images_dir), names, extend, on_size_mismatch)
            except ImageReadError as exc:
                if not skip_unreadable:
                    raise
                logger.warning("left out %s: %s", exc.path, exc.reason)
                continue
            items.append(labels)
        else:
            labels, names = from_voc_xml(path, names, extend_classes=extend)
            items.append(labels)
    if extend:
        order = sorted(names)
        remap = np.array([order.index(n) for n in names], np.int64)
        for labels in items:
            labels.class_id = remap[labels.class_id]
        names = order
    return items, names


def write_voc_dir(
    items: Sequence[ImageLabels], annotations_dir: str | Path, class_names: Sequence[str]
) -> Path:
    """Write ``<image stem>.xml`` per image (``box_meta`` kept under ``<provenance>``).

    Raises:
        ValueError: two images share a base name.
    """
    annotations_dir = Path(annotations_dir)
    annotations_dir.mkdir(parents=True, exist_ok=True)
    seen: dict[str, str] = {}
    for labels in items:
        stem = Path(labels.image).stem
        if stem in seen:
            raise ValueError(
                f"images {seen[stem]!r} and {labels.image!r} would both write {stem}.xml; "
                "rename one so base names are unique"
            )
        seen[stem] = labels.image
        (annotations_dir / f"{stem}.xml").write_text(to_voc_xml(labels, class_names), "utf-8")
    return annotations_dir
