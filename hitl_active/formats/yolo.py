"""YOLO (Ultralytics) text labels: one ``class cx cy w h`` line per box, normalised to [0, 1].

Coordinates are normalised by the *displayed* image size (after EXIF rotation), which is
what Ultralytics uses when it checks and loads labels, so a rotated phone photo keeps its
boxes. The line converters are pure; the dataset helpers read image headers for sizes only.

Accepted line forms when reading:

* ``class cx cy w h`` — a box;
* ``class cx cy w h conf`` — a box with a confidence (``save_conf=True`` output), kept as
  ``ImageLabels.scores``;
* ``class x1 y1 x2 y2 x3 y3 ...`` (3+ points) — a segmentation polygon, read as its bounding box.

Blank lines and lines starting with ``#`` are skipped.
"""

from __future__ import annotations

import logging
import math
import shutil
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

import numpy as np
import yaml

from hitl_active.data.images import ImageReadError, discover_images, image_size
from hitl_active.formats.core import ImageLabels
from hitl_active.safeyaml import load_yaml

__all__ = [
    "default_labels_dir",
    "from_yolo_lines",
    "read_class_names",
    "read_yolo_dataset",
    "read_yolo_labels",
    "to_yolo_lines",
    "write_class_names",
    "write_yolo_dataset",
    "write_yolo_labels",
]

logger = logging.getLogger(__name__)

#: Normalised coordinates may overshoot [0, 1] by this much (float and rounding noise, a
#: pixel or so from labelling tools) and are clipped; anything further out is an error.
TOLERANCE = 0.01


def to_yolo_lines(labels: ImageLabels, decimals: int = 6) -> list[str]:
    """One ``class cx cy w h`` line per box, normalised by ``labels.width``/``labels.height``.

    With ``decimals=6`` the round-trip error is below ``1e-6 * size`` pixels. Scores and
    ``box_meta`` are not written: YOLO text has no place for them.
    """
    if decimals < 1:
        raise ValueError(f"decimals must be >= 1, got {decimals}")
    xyxy = labels.xyxy.astype(np.float64)
    w, h = float(labels.width), float(labels.height)
    cx = (xyxy[:, 0] + xyxy[:, 2]) / 2.0 / w
    cy = (xyxy[:, 1] + xyxy[:, 3]) / 2.0 / h
    bw = (xyxy[:, 2] - xyxy[:, 0]) / w
    bh = (xyxy[:, 3] - xyxy[:, 1]) / h
    f = f"{{:.{decimals}f}}"
    return [
        f"{int(c)} {f.format(a)} {f.format(b)} {f.format(d)} {f.format(e)}"
        for c, a, b, d, e in zip(labels.class_id, cx, cy, bw, bh, strict=True)
    ]


def _parse_class(token: str, where: str, num_classes: int | None) -> int:
    try:
        value = float(token)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value != int(value) or value < 0:
        raise ValueError(f"{where}: class id must be a non-negative integer, got {token!r}")
    cls = int(value)
    if num_classes is not None and cls >= num_classes:
        raise ValueError(
            f"{where}: class id {cls} is out of range for {num_classes} classes "
            f"(expected 0..{num_classes - 1}); check classes.txt / data.yaml"
        )
    return cls


def _parse_line(
    line: str, where: str, num_classes: int | None
) -> tuple[int, np.ndarray, float | None]:
    """``(class, normalised xyxy, confidence or None)`` for one non-blank line."""
    tokens = line.split()
    n = len(tokens)
    if not (n in (5, 6) or (n >= 7 and n % 2 == 1)):
        raise ValueError(
            f"{where}: expected 'class cx cy w h' (5 values), 'class cx cy w h conf' (6) or a "
            f"polygon 'class x1 y1 x2 y2 x3 y3 ...' (odd count >= 7), got {n} values: {line!r}"
        )
    cls = _parse_class(tokens[0], where, num_classes)
    try:
        values = np.array([float(t) for t in tokens[1:]], dtype=np.float64)
    except ValueError as exc:
        raise ValueError(f"{where}: coordinates must be numbers, got {line!r}") from exc
    if not np.isfinite(values).all():
        raise ValueError(f"{where}: coordinates must be finite, got {line!r}")
    conf = None
    if n in (5, 6):
        cx, cy, bw, bh = values[:4]
        if bw <= 0 or bh <= 0:
            raise ValueError(
                f"{where}: box width and height must be positive, got w={bw:g} h={bh:g}"
            )
        box = np.array([cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2])
        if n == 6:
            conf = float(values[4])
    else:
        xs, ys = values[0::2], values[1::2]
        box = np.array([xs.min(), ys.min(), xs.max(), ys.max()])
    if box.min() < -TOLERANCE or box.max() > 1 + TOLERANCE:
        raise ValueError(
            f"{where}: box {np.round(box, 4).tolist()} lies outside the image; YOLO "
            "coordinates must be normalised to [0, 1] (divide pixels by image width/height)"
        )
    return cls, np.clip(box, 0.0, 1.0), conf


def from_yolo_lines(
    lines: Iterable[str],
    image: str,
    width: int,
    height: int,
    *,
    source: str | None = None,
    num_classes: int | None = None,
) -> ImageLabels:
    """Parse YOLO label lines into :class:`ImageLabels` with pixel boxes.

    Args:
        lines: label file lines, or the file's text (blank and ``#`` lines are skipped).
        image: the image the labels belong to (stored in ``ImageLabels.image``).
        width, height: displayed (EXIF-corrected) image size in pixels.
        source: name used in error messages (the label file); defaults to ``image``.
        num_classes: when given, class ids must be below it.

    Raises:
        ValueError: a malformed line; the message names the file, line number and what was
            expected. Coordinates more than :data:`TOLERANCE` outside [0, 1] are rejected.
    """
    source = source or image
    if isinstance(lines, str):  # a whole file's text
        lines = lines.splitlines()
    classes: list[int] = []
    boxes: list[np.ndarray] = []
    confs: list[float | None] = []
    for number, raw in enumerate(lines, start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        cls, box, conf = _parse_line(line, f"{source}, line {number}", num_classes)
        classes.append(cls)
        boxes.append(box)
        confs.append(conf)
    with_conf = sum(c is not None for c in confs)
    if with_conf not in (0, len(confs)):
        raise ValueError(
            f"{source}: {with_conf} of {len(confs)} lines carry a confidence; expected all or none"
        )
    scale = np.array([width, height, width, height], dtype=np.float64)
    xyxy = np.array(boxes).reshape(-1, 4) * scale
    scores = np.array(confs, dtype=np.float32) if with_conf else None
    return ImageLabels(image, width, height, xyxy=xyxy, class_id=classes, scores=scores)


def read_yolo_labels(
    path: str | Path, image: str, width: int, height: int, num_classes: int | None = None
) -> ImageLabels:
    """Read one YOLO label file (see :func:`from_yolo_lines`)."""
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    return from_yolo_lines(
        text.splitlines(), image, width, height, source=str(path), num_classes=num_classes
    )


def write_yolo_labels(labels: ImageLabels, path: str | Path, decimals: int = 6) -> Path:
    """Write one YOLO label file (an empty file for an image without boxes)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = to_yolo_lines(labels, decimals)
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def read_class_names(path: str | Path) -> list[str]:
    """Class names from ``classes.txt`` (one per line) or an Ultralytics ``data.yaml``.

    ``data.yaml`` may list ``names`` as a list or as a ``{index: name}`` mapping.
    """
    path = Path(path)
    if path.suffix.lower() in (".yaml", ".yml"):
        data = load_yaml(path) or {}
        names = data.get("names") if isinstance(data, dict) else None
        if isinstance(names, dict):
            keys = sorted(int(k) for k in names)
            if keys != list(range(len(keys))):
                raise ValueError(f"{path}: 'names' keys must be 0..{len(keys) - 1}, got {keys}")
            return [str(names[k]) for k in keys]
        if not isinstance(names, list):
            raise ValueError(f"{path}: expected a 'names' list or mapping of class names")
        return [str(n) for n in names]
    names = [line.strip() for line in path.read_text(encoding="utf-8").splitlines()]
    return [n for n in names if n]


def write_class_names(out_dir: str | Path, class_names: Sequence[str]) -> None:
    """Write ``classes.txt`` and an Ultralytics ``data.yaml`` (train/val both ``images``).

    ``data.yaml`` has no ``path`` key, so Ultralytics resolves ``images`` against the
    yaml's own folder and the dataset stays valid when moved or delivered.
    """

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "classes.txt").write_text("".join(f"{n}\n" for n in class_names), encoding="utf-8")
    data = {
        "train": "images",
        "val": "images",
        "names": dict(enumerate(class_names)),
    }
    (out_dir / "data.yaml").write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")


def default_labels_dir(images_dir: str | Path) -> Path:
    """Ultralytics' layout: the last ``images`` folder in the path becomes ``labels``
    (``ds/images/train`` -> ``ds/labels/train``); otherwise ``labels`` beside ``images_dir``.
    """
    parts = list(Path(images_dir).parts)
    if "images" in parts:
        index = len(parts) - 1 - parts[::-1].index("images")
        parts[index] = "labels"
        return Path(*parts)
    return Path(images_dir).parent / "labels"


def read_yolo_dataset(
    images_dir: str | Path,
    labels_dir: str | Path | None = None,
    class_names: Sequence[str] | None = None,
    skip_unreadable: bool = False,
) -> Iterator[ImageLabels]:
    """Yield labels for every image under ``images_dir`` (recursively, sorted).

    With ``skip_unreadable`` an image whose header cannot be read is left out with a
    warning giving the reason, instead of raising.

    The label file of ``images_dir/a/b.jpg`` is ``labels_dir/a/b.txt``; ``labels_dir``
    defaults to :func:`default_labels_dir` (the Ultralytics layout). An image without a label file
    has no boxes (the YOLO convention for background images). Sizes come from
    :func:`hitl_active.data.images.image_size`, which applies EXIF orientation.

    Raises:
        ImageReadError: an image header cannot be read.
        ValueError: a malformed label file, or a class id outside ``class_names``.
    """

    images_dir = Path(images_dir)
    labels_dir = Path(labels_dir) if labels_dir is not None else default_labels_dir(images_dir)
    num_classes = len(class_names) if class_names is not None else None
    for path in discover_images(images_dir):
        try:
            width, height = image_size(path)
        except ImageReadError as exc:
            if not skip_unreadable:
                raise
            logger.warning("left out %s: %s", path, exc.reason)
            continue
        label_path = labels_dir / path.relative_to(images_dir).with_suffix(".txt")
        if not label_path.is_file():
            logger.debug("no label file for %s: treated as background", path)
            yield ImageLabels(str(path), width, height)
            continue
        yield read_yolo_labels(label_path, str(path), width, height, num_classes)


def write_yolo_dataset(
    items: Iterable[ImageLabels],
    out_dir: str | Path,
    class_names: Sequence[str],
    copy_images: bool = True,
    decimals: int = 6,
) -> Path:
    """Write ``out_dir/images``, ``out_dir/labels``, ``classes.txt`` and ``data.yaml``.

    Files are named after each image's base name, which must therefore be unique. Images
    are copied byte for byte (EXIF kept), matching labels in displayed coordinates.

    Raises:
        ValueError: two images share a base name, or a class id is outside ``class_names``.
        FileNotFoundError: ``copy_images`` is set and an image file is missing.
    """
    out_dir = Path(out_dir)
    seen: dict[str, str] = {}
    for labels in items:
        name = Path(labels.image).name
        stem = Path(name).stem
        if stem in seen:
            raise ValueError(
                f"images {seen[stem]!r} and {labels.image!r} would both write labels/{stem}.txt; "
                "rename one so base names are unique"
            )
        seen[stem] = labels.image
        if len(labels) and int(labels.class_id.max()) >= len(class_names):
            raise ValueError(
                f"{labels.image}: class id {int(labels.class_id.max())} is out of range for "
                f"{len(class_names)} class names"
            )
        write_yolo_labels(labels, out_dir / "labels" / f"{stem}.txt", decimals)
        if copy_images:
            src = Path(labels.image)
            if not src.is_file():
                raise FileNotFoundError(
                    f"cannot copy image {src}: file not found (pass copy_images=False to write "
                    "labels only)"
                )
            (out_dir / "images").mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, out_dir / "images" / name)
    write_class_names(out_dir, class_names)
    return out_dir
