"""Safe image reading: EXIF orientation applied, unreadable files reported with a reason."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

__all__ = [
    "IMAGE_SUFFIXES",
    "ImageReadError",
    "discover_images",
    "exif_orientation",
    "image_size",
    "read_image",
]

logger = logging.getLogger(__name__)

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"})

# EXIF orientations 5-8 swap width and height once applied.
_TRANSPOSING = {5, 6, 7, 8}


class ImageReadError(ValueError):
    """An image could not be read; ``reason`` says why in words a user can act on."""

    def __init__(self, path: str | Path, reason: str) -> None:
        self.path = str(path)
        self.reason = reason
        super().__init__(f"cannot read image {self.path}: {reason}")


def exif_orientation(image: Image.Image) -> int:
    """The EXIF orientation tag (1-8), 1 when absent or unreadable."""
    try:
        value = int(image.getexif().get(0x0112, 1))
    except (ValueError, TypeError, OSError):
        return 1
    return value if 1 <= value <= 8 else 1


def image_size(path: str | Path) -> tuple[int, int]:
    """``(width, height)`` as displayed, i.e. after EXIF rotation, reading only the header."""
    try:
        with Image.open(path) as im:
            w, h = im.size
            return (h, w) if exif_orientation(im) in _TRANSPOSING else (w, h)
    except FileNotFoundError as exc:
        raise ImageReadError(path, "file not found") from exc
    except (UnidentifiedImageError, OSError) as exc:
        raise ImageReadError(path, f"not a readable image ({exc})") from exc


def read_image(path: str | Path) -> np.ndarray:
    """Decode to an ``(H, W, 3)`` uint8 RGB array with EXIF orientation applied.

    Raises:
        ImageReadError: the file is missing, truncated, corrupt or not an image.
    """
    try:
        with Image.open(path) as im:
            im = ImageOps.exif_transpose(im)
            return np.asarray(im.convert("RGB"))
    except FileNotFoundError as exc:
        raise ImageReadError(path, "file not found") from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise ImageReadError(path, f"corrupt or not an image ({exc})") from exc


def discover_images(root: str | Path, recursive: bool = True) -> Iterator[Path]:
    """Yield image files under ``root`` in sorted order, streaming (the pool is never held).

    Raises:
        FileNotFoundError: ``root`` does not exist.
    """
    root = Path(root)
    if not root.exists():
        raise FileNotFoundError(f"image folder {root} does not exist")
    if root.is_file():
        yield root
        return
    pattern = "**/*" if recursive else "*"
    for path in sorted(root.glob(pattern)):
        if path.suffix.lower() in IMAGE_SUFFIXES and path.is_file():
            yield path
