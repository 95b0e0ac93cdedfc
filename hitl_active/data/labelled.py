"""Fully labelled detection datasets on disk, as ``(image path, labels)`` pairs."""

from __future__ import annotations

from pathlib import Path

from hitl_active.formats.core import ImageLabels

__all__ = ["Item", "load_labelled_dataset"]

Item = tuple[Path, ImageLabels]


def load_labelled_dataset(root: str | Path) -> tuple[list[Item], list[str]]:
    """``(image path, labels)`` pairs and class names of a YOLO or VOC dataset folder.

    YOLO: ``images/`` + ``labels/`` + ``classes.txt`` (or ``data.yaml``).
    VOC: ``annotations/*.xml`` + ``images/``.
    """
    from hitl_active.formats.voc import read_voc_dir
    from hitl_active.formats.yolo import read_class_names, read_yolo_dataset

    root = Path(root)
    if (root / "annotations").is_dir():
        labels, names = read_voc_dir(root / "annotations", root / "images")
    elif (root / "images").is_dir():
        names_file = next(
            (p for p in (root / "classes.txt", root / "data.yaml") if p.is_file()), None
        )
        if names_file is None:
            raise FileNotFoundError(f"{root} has images/ but no classes.txt or data.yaml")
        names = read_class_names(names_file)
        labels = list(read_yolo_dataset(root / "images", class_names=names))
    else:
        raise FileNotFoundError(
            f"{root} is not a labelled dataset: expected images/ with labels/ and classes.txt "
            "(YOLO) or annotations/*.xml with images/ (VOC)"
        )
    return [(Path(lab.image), lab) for lab in labels], list(names)
