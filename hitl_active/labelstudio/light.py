"""Light task images: what an annotator downloads, on a phone or a slow, metered link.

A task may show a smaller, re-encoded copy of the client's image: Label Studio stores box
coordinates in percent of the image it showed, and a task records the original's size
(``data.width``/``data.height``), so boxes drawn on the copy map back to the original
exactly (see :func:`hitl_active.formats.labelstudio.from_ls_results`'s ``size``).

A copy is written once, beside the original, in its folder's :data:`CACHE_DIR` (Label
Studio serves only files under a folder connected to the project as local storage, and a
hidden folder is never taken for pool images), named by the original's content and the
settings: a second push, or
another annotator with the same settings, reuses it. An original the copy would barely
lighten (already small and compressed) is sent as it is. A copy that cannot be written
leaves the task on the original (with a warning): nothing is lost, the task is only heavier.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageOps

from hitl_active.data.images import ImageReadError, open_image
from hitl_active.labelstudio.project import is_url

__all__ = ["CACHE_DIR", "TaskImageSpec", "light_copy", "light_copy_or_original"]

logger = logging.getLogger(__name__)

#: Where copies live, relative to the original's folder.
CACHE_DIR = Path(".hitl-active") / "task-images"
#: A copy is sent only when it weighs at most this share of the original.
SMALLER = 0.8


@dataclass(frozen=True)
class TaskImageSpec:
    """How a task's image is sent: long side at most ``max_side`` pixels (``None``: the
    original size) and JPEG ``quality`` (1-95)."""

    max_side: int | None = 1280
    quality: int = 80

    def __post_init__(self) -> None:
        if self.max_side is not None and self.max_side < 16:
            raise ValueError(f"max_side must be at least 16 pixels, got {self.max_side}")
        if not 1 <= self.quality <= 95:
            raise ValueError(f"quality must be 1-95, got {self.quality}")

    @property
    def tag(self) -> str:
        return f"{self.max_side or 'full'}q{self.quality}"


def _digest(path: Path) -> str:
    h = hashlib.sha1()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()[:20]


def light_copy(image: str | Path, spec: TaskImageSpec) -> Path:
    """The file a task should show for ``image``: a cached copy in its folder's
    ``CACHE_DIR`` (EXIF-rotated upright, long side at most ``spec.max_side``,
    JPEG at ``spec.quality``), or the original when the copy is not at least
    ``1 - SMALLER`` lighter.

    Raises:
        ImageReadError: the original is missing or not an image.
    """
    path = Path(image)
    out = path.parent / CACHE_DIR / f"{_digest(path)}-{spec.tag}.jpg"
    if not out.is_file():
        with open_image(path) as im:
            copy = ImageOps.exif_transpose(im).convert("RGB")
        long_side = max(copy.size)
        if spec.max_side is not None and long_side > spec.max_side:
            scale = spec.max_side / long_side
            size = (max(1, round(copy.width * scale)), max(1, round(copy.height * scale)))
            copy = copy.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)
        try:
            out.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=out.parent, suffix=".part")
            with os.fdopen(fd, "wb") as f:
                copy.save(f, "JPEG", quality=spec.quality, optimize=True, progressive=True)
            os.replace(tmp, out)  # whole or not at all: a reader never sees half a copy
        except OSError as exc:
            logger.warning("cannot write a light copy of %s (%s); the task shows the original",
                           path, exc)  # fmt: skip
            return path
    if out.stat().st_size > SMALLER * path.stat().st_size:
        return path  # already light: the copy would save little, and lose some quality
    return out


def light_copy_or_original(
    image: str | Path, files_root: str | Path | None, spec: TaskImageSpec | None
) -> str | Path:
    """:func:`light_copy` where it applies (a local file, a spec, a files root); the image
    itself otherwise, and when the original cannot be read (the push reports that)."""
    if spec is None or files_root is None or is_url(image):
        return image
    path = Path(image) if Path(image).is_absolute() else Path(files_root) / image
    try:
        return light_copy(path, spec)
    except ImageReadError as exc:
        logger.warning("%s; the task shows the original", exc)
        return image
