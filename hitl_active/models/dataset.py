"""Write a YOLO-format dataset (images, labels, ``data.yaml``) that Ultralytics trains on."""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Sequence
from pathlib import Path

import yaml
from PIL import Image

from hitl_active.data.images import is_truncated_jpeg, read_image
from hitl_active.formats import ImageLabels
from hitl_active.formats.yolo import to_yolo_lines

__all__ = ["prepare_yolo_dataset"]

logger = logging.getLogger(__name__)


def _link_or_copy(src: Path, dst: Path) -> None:
    """Symlink ``dst`` to ``src``; copy when the file system refuses links.

    A JPEG cut short is written restored instead: Ultralytics would otherwise re-save it in
    place, through the link, into the client's dataset.
    """

    if dst.is_symlink() or dst.exists():
        dst.unlink()
    if is_truncated_jpeg(src):
        Image.fromarray(read_image(src)).save(dst, format="JPEG", quality=95)
        return
    try:
        os.symlink(src.resolve(), dst)
    except OSError:
        shutil.copy2(src, dst)


def _unique_stem(path: Path, used: set[str]) -> str:
    """A file stem not yet used in this split (pools may hold equal names in different folders)."""
    stem, n = path.stem, 1
    while stem in used:
        stem = f"{path.stem}_{n}"
        n += 1
    used.add(stem)
    return stem


def _write_split(
    items: Sequence[tuple[Path, ImageLabels]], split_dir: Path, num_classes: int
) -> int:

    images, labels = split_dir / "images", split_dir / "labels"
    for d in (images, labels):
        if d.exists():
            shutil.rmtree(d)
        d.mkdir(parents=True)
    used: set[str] = set()
    for image_path, image_labels in items:
        image_path = Path(image_path)
        if not image_path.is_file():
            raise FileNotFoundError(
                f"training image {image_path} does not exist; remove it from the split or "
                "restore the file"
            )
        if len(image_labels) and int(image_labels.class_id.max()) >= num_classes:
            raise ValueError(
                f"labels of {image_path} use class id {int(image_labels.class_id.max())} but "
                f"only {num_classes} class names were given"
            )
        stem = _unique_stem(image_path, used)
        _link_or_copy(image_path, images / f"{stem}{image_path.suffix.lower()}")
        lines = to_yolo_lines(image_labels)
        (labels / f"{stem}.txt").write_text("".join(f"{line}\n" for line in lines))
    return len(items)


def prepare_yolo_dataset(
    train: Sequence[tuple[Path, ImageLabels]],
    val: Sequence[tuple[Path, ImageLabels]],
    class_names: Sequence[str],
    out_dir: Path,
) -> Path:
    """Lay out ``train``/``val`` in YOLO format under ``out_dir`` and return its ``data.yaml``.

    Images are symlinked (copied where links are not allowed); labels are written as YOLO
    ``class cx cy w h`` lines. Existing ``train``/``val`` folders under ``out_dir`` are replaced.

    Raises:
        ValueError: no class names, an empty train split, or a class id out of range.
        FileNotFoundError: an image listed in a split does not exist.
    """

    if not class_names:
        raise ValueError("class_names is empty; give the project's class list")
    if not train:
        raise ValueError("the train split is empty; label some images first")
    out_dir = Path(out_dir)
    n_train = _write_split(train, out_dir / "train", len(class_names))
    # Ultralytics needs a val split; fall back to the train images when none is given.
    n_val = _write_split(val or train, out_dir / "val", len(class_names))
    data = {
        "path": str(out_dir.resolve()),
        "train": "train/images",
        "val": "val/images",
        "names": {i: str(name) for i, name in enumerate(class_names)},
    }
    data_yaml = out_dir / "data.yaml"
    data_yaml.write_text(yaml.safe_dump(data, sort_keys=False))
    logger.info("YOLO dataset at %s: %d train, %d val images", out_dir, n_train, n_val)
    return data_yaml
