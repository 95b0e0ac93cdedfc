"""Safe image reading: EXIF orientation applied, unreadable files reported with a reason."""

from __future__ import annotations

import logging
import sys
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
    "read_image_bgr",
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


def _open(path: str | Path) -> Image.Image:
    """``PIL.Image.open``, bypassing Ultralytics' import-time patch of it.

    Once imported, Ultralytics replaces ``Image.open`` with a wrapper that, on an
    unidentifiable file, tries to install and import ``pi-heif`` instead of raising
    ``UnidentifiedImageError``; the original opener keeps error reporting predictable.
    """
    patches = sys.modules.get("ultralytics.utils.patches")
    opener = getattr(patches, "_image_open", None) or Image.open
    return opener(path)


def image_size(path: str | Path) -> tuple[int, int]:
    """``(width, height)`` as displayed, i.e. after EXIF rotation, reading only the header."""
    try:
        with _open(path) as im:
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
        with _open(path) as im:
            im = ImageOps.exif_transpose(im)
            return np.asarray(im.convert("RGB"))
    except FileNotFoundError as exc:
        raise ImageReadError(path, "file not found") from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise ImageReadError(path, f"corrupt or not an image ({exc})") from exc


# A JPEG whose end-of-image marker is missing from its tail was cut short (interrupted copy).
_JPEG_TAIL = 1 << 16


def read_image_bgr(path: str | Path) -> np.ndarray:
    """Fast decode to ``(H, W, 3)`` uint8 **BGR** with EXIF orientation applied (OpenCV).

    OpenCV's ``imdecode`` releases the GIL, so several threads decode in parallel; with
    ``IMREAD_COLOR`` it applies the EXIF orientation like :func:`read_image`. Files OpenCV
    cannot decode go through Pillow, which either reads them or says why they are unreadable.
    Truncated JPEGs (no end-of-image marker) are rejected rather than decoded half grey.

    Raises:
        ImageReadError: the file is missing, empty, truncated, corrupt or not an image.
    """
    import cv2

    try:
        data = Path(path).read_bytes()
    except FileNotFoundError as exc:
        raise ImageReadError(path, "file not found") from exc
    except IsADirectoryError as exc:
        raise ImageReadError(path, "is a directory, not an image file") from exc
    except OSError as exc:
        raise ImageReadError(path, f"cannot open file ({exc.strerror or exc})") from exc
    if not data:
        raise ImageReadError(path, "empty file (0 bytes)")
    if data[:2] == b"\xff\xd8" and data.rfind(b"\xff\xd9", max(0, len(data) - _JPEG_TAIL)) < 0:
        raise ImageReadError(path, "truncated JPEG (no end-of-image marker); re-copy the file")
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        rgb = read_image(path)  # raises with Pillow's reason when it cannot read it either
        return np.ascontiguousarray(rgb[:, :, ::-1])
    return image


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
