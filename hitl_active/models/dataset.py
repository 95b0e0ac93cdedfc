"""Write a YOLO-format dataset (images, labels, ``data.yaml``) that Ultralytics trains on."""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import yaml
from PIL import Image

from hitl_active.data.images import is_truncated_jpeg, read_image
from hitl_active.formats import ImageLabels
from hitl_active.formats.yolo import to_yolo_lines

__all__ = ["prepare_yolo_dataset", "split_ignored"]

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


def split_ignored(labels: ImageLabels) -> tuple[ImageLabels, np.ndarray]:
    """``labels`` without its ``ignore`` boxes (``box_meta`` ``{"ignore": true}``), and
    those boxes' ``(K, 4)`` regions.

    An ignore box is a region nobody looked at where the model was unsure (box-level
    review, :mod:`hitl_active.sampling.review`): training must treat it as neither an
    object nor background, so its pixels are masked instead of labelled.
    """
    meta = labels.box_meta
    flags = np.array([bool(m.get("ignore")) for m in meta], dtype=bool) if meta else None
    if flags is None or not flags.any():
        return labels, np.zeros((0, 4), np.float32)
    keep = ~flags
    kept = ImageLabels(
        labels.image, labels.width, labels.height, labels.xyxy[keep], labels.class_id[keep],
        scores=None if labels.scores is None else labels.scores[keep],
        box_meta=[m for m, k in zip(meta, keep.tolist(), strict=True) if k],
    )  # fmt: skip
    return kept, labels.xyxy[flags]


def _pixel_box(box: np.ndarray, w: int, h: int) -> tuple[slice, slice]:
    x1, y1, x2, y2 = (float(v) for v in box)
    a, b = int(np.clip(np.floor(x1), 0, w)), int(np.clip(np.ceil(x2), 0, w))
    c, d = int(np.clip(np.floor(y1), 0, h)), int(np.clip(np.ceil(y2), 0, h))
    return slice(c, d), slice(a, b)


def _write_masked(src: Path, regions: np.ndarray, dst: Path, keep: np.ndarray) -> None:
    """A copy of ``src`` with ``regions`` filled grey (Ultralytics' padding value, 114),
    except where a labelled box (``keep``) lies: an object a person confirmed stays seen
    even where an unasked duplicate candidate overlaps it."""
    original = np.array(read_image(src))
    pixels = original.copy()
    h, w = pixels.shape[:2]
    for box in np.asarray(regions, dtype=np.float64):
        pixels[_pixel_box(box, w, h)] = 114
    for box in np.asarray(keep, dtype=np.float64):
        rows, cols = _pixel_box(box, w, h)
        pixels[rows, cols] = original[rows, cols]
    if dst.is_symlink() or dst.exists():
        dst.unlink()
    Image.fromarray(pixels).save(dst, format="PNG")


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
        image_labels, ignore = split_ignored(image_labels)
        if len(ignore):
            _write_masked(image_path, ignore, images / f"{stem}.png", image_labels.xyxy)
        else:
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
