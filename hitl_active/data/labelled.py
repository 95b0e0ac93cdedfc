"""Fully labelled detection datasets on disk, as ``(image path, labels)`` pairs.

Layouts read as they are:

* YOLO: ``images/`` + ``labels/`` + ``classes.txt`` (or ``data.yaml``);
* Pascal VOC: an annotations folder of ``*.xml`` (``Annotations/``, ``annotations/`` or
  ``annots/``) beside an image folder (``JPEGImages/`` or ``images/``), as the VOC devkit
  and most exports lay it out.

Every image is decoded once before anything trains on it (:func:`check_images`): one that
cannot be read is left out with its reason, so a long run never stops on it later.
"""

from __future__ import annotations

import logging
from pathlib import Path

from hitl_active.data.images import check_images
from hitl_active.formats.core import ImageLabels
from hitl_active.formats.voc import read_voc_dir
from hitl_active.formats.yolo import read_class_names, read_yolo_dataset

__all__ = ["ANNOTATION_DIRS", "IMAGE_DIRS", "Item", "load_labelled_dataset"]

logger = logging.getLogger(__name__)

Item = tuple[Path, ImageLabels]

#: VOC annotation and image folder names, in the order they are looked for.
ANNOTATION_DIRS = ("Annotations", "annotations", "annots")
IMAGE_DIRS = ("JPEGImages", "images")


def _first_dir(root: Path, names: tuple[str, ...]) -> Path | None:
    return next((root / n for n in names if (root / n).is_dir()), None)


def _layout_error(root: Path, found: str) -> FileNotFoundError:
    entries = sorted(p.name + ("/" if p.is_dir() else "") for p in root.iterdir())
    shown = ", ".join(entries[:20]) + (
        f" and {len(entries) - 20} more" if len(entries) > 20 else ""
    )
    voc = " or ".join(a + "/" for a in ANNOTATION_DIRS)
    voc_images = " or ".join(i + "/" for i in IMAGE_DIRS)
    return FileNotFoundError(
        f"{root} is not a labelled dataset in a known layout ({found}); looked for YOLO: images/ + "
        f"labels/ + classes.txt or data.yaml; VOC: {voc} with *.xml beside {voc_images}; "
        f"found: {shown or 'nothing'}"
    )


def _read_labels(root: Path) -> tuple[list[ImageLabels], list[str]]:

    if not root.is_dir():
        raise FileNotFoundError(f"labelled dataset folder {root} does not exist")
    annotations = _first_dir(root, ANNOTATION_DIRS)
    images = _first_dir(root, IMAGE_DIRS)
    if annotations is not None:
        if not any(annotations.glob("*.xml")):
            raise _layout_error(root, f"{annotations.name}/ holds no *.xml")
        if images is None:
            raise _layout_error(root, f"{annotations.name}/ has no image folder beside it")
        return read_voc_dir(annotations, images, skip_unreadable=True)
    if (root / "images").is_dir():
        names_file = next(
            (p for p in (root / "classes.txt", root / "data.yaml") if p.is_file()), None
        )
        if names_file is None:
            raise _layout_error(root, "images/ but no classes.txt or data.yaml, nor *.xml")
        names = read_class_names(names_file)
        labels = read_yolo_dataset(root / "images", class_names=names, skip_unreadable=True)
        return list(labels), list(names)
    raise _layout_error(root, "no layout matched")


def load_labelled_dataset(root: str | Path, check: bool = True) -> tuple[list[Item], list[str]]:
    """``(image path, labels)`` pairs and class names of a YOLO or VOC dataset folder.

    With ``check`` every image is decoded first; unreadable ones are left out, each logged
    with its reason, and restored ones (a JPEG missing its last bytes) logged as warnings.

    Raises:
        FileNotFoundError: ``root`` is no known layout (the error lists the layouts looked
            for and what the folder holds), or no image in it can be read.
    """

    root = Path(root)
    labels, names = _read_labels(root)
    items = [(Path(lab.image), lab) for lab in labels]
    if check:
        readable, skipped, warnings = check_images([p for p, _ in items])
        for path, note in warnings.items():
            logger.warning("%s: %s", path, note)
        if skipped:
            logger.warning(
                "%d of %d images of %s cannot be read and are left out", len(skipped), len(items),
                root,
            )  # fmt: skip
        keep = set(readable)
        items = [item for item in items if item[0] in keep]
        if not items:
            raise FileNotFoundError(f"no image of {root} can be read; see the reasons above")
    return items, list(names)
