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


# Errors Pillow raises on files it cannot decode. DecompressionBombError (a picture larger
# than Image.MAX_IMAGE_PIXELS) derives from Exception only, so it is named here.
_DECODE_ERRORS = (UnidentifiedImageError, OSError, SyntaxError, ValueError,
                  Image.DecompressionBombError)  # fmt: skip


def _reason(exc: BaseException) -> str:
    if isinstance(exc, Image.DecompressionBombError):
        return (f"too large to decode safely ({exc}); raise PIL.Image.MAX_IMAGE_PIXELS "
                "if the file is trusted, or tile the image")  # fmt: skip
    return f"corrupt or not an image ({exc})"


def _to_rgb(im: Image.Image) -> np.ndarray:
    """RGB uint8; 16-bit and 32-bit grey images are scaled down, not clipped at 255."""
    if im.mode in ("I;16", "I;16B", "I;16L", "I"):
        arr = np.asarray(im).astype(np.float64)
        top = 65535.0 if im.mode.startswith("I;16") or arr.max() > 255 else 255.0
        grey = np.clip(arr * (255.0 / top), 0, 255).astype(np.uint8)
        return np.repeat(grey[:, :, None], 3, axis=2)
    return np.asarray(im.convert("RGB"))


def image_size(path: str | Path) -> tuple[int, int]:
    """``(width, height)`` as displayed, i.e. after EXIF rotation, reading only the header."""
    try:
        with _open(path) as im:
            w, h = im.size
            return (h, w) if exif_orientation(im) in _TRANSPOSING else (w, h)
    except FileNotFoundError as exc:
        raise ImageReadError(path, "file not found") from exc
    except _DECODE_ERRORS as exc:
        raise ImageReadError(path, _reason(exc)) from exc


def read_image(path: str | Path) -> np.ndarray:
    """Decode to an ``(H, W, 3)`` uint8 RGB array with EXIF orientation applied.

    Raises:
        ImageReadError: the file is missing, truncated, corrupt or not an image.
    """
    try:
        with _open(path) as im:
            im = ImageOps.exif_transpose(im)
            return _to_rgb(im)
    except FileNotFoundError as exc:
        raise ImageReadError(path, "file not found") from exc
    except _DECODE_ERRORS as exc:
        raise ImageReadError(path, _reason(exc)) from exc


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
    """Yield image files under ``root`` in sorted order.

    Only the sorted list of paths is held (a few MB for 100k files), never pixels. Hidden
    files and folders (``.thumbnails``, macOS ``._IMG_1.jpg`` resource forks) are skipped.

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
        hidden = any(part.startswith(".") for part in path.relative_to(root).parts)
        if path.suffix.lower() in IMAGE_SUFFIXES and not hidden and path.is_file():
            yield path
