"""Safe image reading: EXIF orientation applied, unreadable files reported with a reason.

Every decoding path (OpenCV and Pillow) reads the picture's size from the header first and
refuses one of more than :data:`MAX_IMAGE_PIXELS` before decoding a single pixel, so a small
file cannot expand into gigabytes. A JPEG cut short (no end-of-image marker) is decoded
when only its last rows are missing, with a warning; otherwise it is refused.
"""

from __future__ import annotations

import contextlib
import io
import logging
import sys
import threading
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from hitl_active.data.discovery import IMAGE_SUFFIXES, SkippedEntry, discover_images, skip

__all__ = [
    "IMAGE_SUFFIXES",
    "MAX_IMAGE_PIXELS",
    "DecodeBudget",
    "ImageReadError",
    "SkippedEntry",
    "check_images",
    "discover_images",
    "exif_orientation",
    "image_size",
    "is_truncated_jpeg",
    "open_image",
    "read_image",
    "read_image_bgr",
    "read_image_reduced",
    "release_freed_pixels",
]

logger = logging.getLogger(__name__)

#: Largest picture decoded, in pixels (100 MP: 300 MB as RGB). Larger ones are refused from
#: their header; raise it (``hitl_active.data.images.MAX_IMAGE_PIXELS = ...``) for trusted
#: files, or tile them. Pillow refuses above twice its own ``Image.MAX_IMAGE_PIXELS`` as well.
MAX_IMAGE_PIXELS = 100_000_000

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
        return (f"too large to decode safely ({exc}); tile the image, or raise "
                "PIL.Image.MAX_IMAGE_PIXELS if the file is trusted")  # fmt: skip
    return f"corrupt or not an image ({exc})"


def _check_pixels(path: str | Path, size: tuple[int, int]) -> None:
    """Refuse a picture of more than :data:`MAX_IMAGE_PIXELS`, from its header's size."""
    width, height = size
    if width * height > MAX_IMAGE_PIXELS:
        raise ImageReadError(
            path,
            f"{width}x{height} pixels ({width * height / 1e6:.0f} MP) is over the limit of "
            f"{MAX_IMAGE_PIXELS / 1e6:.0f} MP; tile the image, or raise "
            "hitl_active.data.images.MAX_IMAGE_PIXELS if the file is trusted",
        )


def _to_rgb(im: Image.Image) -> np.ndarray:
    """RGB uint8; 16-bit and 32-bit grey images are scaled down, not clipped at 255."""
    if im.mode in ("I;16", "I;16B", "I;16L", "I"):
        arr = np.asarray(im).astype(np.float64)
        top = 65535.0 if im.mode.startswith("I;16") or arr.max() > 255 else 255.0
        grey = np.clip(arr * (255.0 / top), 0, 255).astype(np.uint8)
        return np.repeat(grey[:, :, None], 3, axis=2)
    return np.asarray(im.convert("RGB"))


def image_size(path: str | Path) -> tuple[int, int]:
    """``(width, height)`` as displayed, i.e. after EXIF rotation, reading only the header.

    Raises:
        ImageReadError: the file is missing or not an image, or has too many pixels.
    """
    try:
        with _open(path) as im:
            _check_pixels(path, im.size)
            w, h = im.size
            return (h, w) if exif_orientation(im) in _TRANSPOSING else (w, h)
    except FileNotFoundError as exc:
        raise ImageReadError(path, "file not found") from exc
    except _DECODE_ERRORS as exc:
        raise ImageReadError(path, _reason(exc)) from exc


@contextlib.contextmanager
def open_image(path: str | Path) -> Iterator[Image.Image]:
    """A lazily opened PIL image (header read, pixels not yet decoded), closed on exit.

    Bypasses Ultralytics' patch of ``Image.open`` and refuses pictures over
    :data:`MAX_IMAGE_PIXELS` before anything is decoded.

    Raises:
        ImageReadError: the file is missing or not an image, or has too many pixels.
    """
    try:
        im = _open(path)
    except FileNotFoundError as exc:
        raise ImageReadError(path, "file not found") from exc
    except _DECODE_ERRORS as exc:
        raise ImageReadError(path, _reason(exc)) from exc
    with im:
        _check_pixels(path, im.size)
        yield im


def _pillow_rgb(path: str | Path | io.BytesIO, name: str | Path) -> np.ndarray:
    try:
        with _open(path) as im:
            _check_pixels(name, im.size)
            im = ImageOps.exif_transpose(im)
            return _to_rgb(im)
    except ImageReadError:
        raise
    except FileNotFoundError as exc:
        raise ImageReadError(name, "file not found") from exc
    except _DECODE_ERRORS as exc:
        raise ImageReadError(name, _reason(exc)) from exc


def read_image(path: str | Path | io.BytesIO) -> np.ndarray:
    """Decode to an ``(H, W, 3)`` uint8 RGB array with EXIF orientation applied.

    A JPEG missing only its last bytes is restored as :func:`read_image_bgr` does.

    Raises:
        ImageReadError: the file is missing, truncated, corrupt, not an image, or has more
            than :data:`MAX_IMAGE_PIXELS` pixels.
    """
    name = path if isinstance(path, (str, Path)) else "<bytes>"
    try:
        return _pillow_rgb(path, name)
    except ImageReadError as exc:
        if isinstance(path, (str, Path)) and "truncated" in exc.reason:
            notes: list[str] = []
            rgb = np.ascontiguousarray(read_image_bgr(path, notes)[:, :, ::-1])
            for note in notes:
                logger.warning("%s: %s", path, note)
            return rgb
        raise


class DecodeBudget:
    """Bytes of full-size pixels a process decodes at once; a decode waits until it fits.

    One decode larger than the whole budget still runs, alone. Share one budget between
    the threads of a server, so that concurrent requests cannot multiply a large picture's
    decoded size (a few KB of PNG can hold 9500x9500 pixels, 270 MB once decoded).
    """

    def __init__(self, max_bytes: int) -> None:
        if max_bytes <= 0:
            raise ValueError(f"a decode budget must be positive bytes, got {max_bytes}")
        self.max_bytes = max_bytes
        self._room = threading.Condition()
        self._used = 0

    @contextlib.contextmanager
    def reserve(self, nbytes: int) -> Iterator[None]:
        with self._room:
            self._room.wait_for(lambda: self._used == 0 or self._used + nbytes <= self.max_bytes)
            self._used += nbytes
        try:
            yield
        finally:
            with self._room:
                self._used -= nbytes
                self._room.notify_all()


#: Pillow's allocation block for a long-running process (see :func:`release_freed_pixels`).
LARGE_PIXEL_BLOCK = 64 * 2**20


def release_freed_pixels() -> None:
    """Make the memory of decoded pictures go back to the system once they are freed.

    Pillow allocates a picture in 16 MB blocks. glibc serves blocks under 32 MB from a
    per-thread heap once a first one was freed, and keeps them there: a server whose request
    threads each decode one large picture in turn then holds one picture per thread. Blocks
    of :data:`LARGE_PIXEL_BLOCK` are always mapped and unmapped whole. Call it from a server's
    start-up (the setting is process-wide; ``PILLOW_BLOCK_SIZE`` sets the same).
    """
    core = Image.core
    if hasattr(core, "get_block_size") and core.get_block_size() < LARGE_PIXEL_BLOCK:
        core.set_block_size(LARGE_PIXEL_BLOCK)


# Bytes per pixel of a decoded Pillow image, by mode (others: one byte per band).
_MODE_BYTES = {"I;16": 2, "I;16B": 2, "I;16L": 2, "I": 4, "F": 4, "RGBA": 4, "CMYK": 4}
_TRANSPOSE = {2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180,
              4: Image.Transpose.FLIP_TOP_BOTTOM, 5: Image.Transpose.TRANSPOSE,
              6: Image.Transpose.ROTATE_270, 7: Image.Transpose.TRANSVERSE,
              8: Image.Transpose.ROTATE_90}  # fmt: skip


def read_image_reduced(
    path: str | Path | io.BytesIO, max_side: int, budget: DecodeBudget | None = None
) -> tuple[np.ndarray, tuple[int, int]]:
    """Decode to an RGB array whose long side is at most about ``max_side`` (never less).

    For a detector that sees ``imgsz`` pixels, ``max_side = 2 * imgsz`` keeps every detail
    it can use. A JPEG is decoded at 1/2 to 1/8 scale directly (Pillow's draft mode); other
    formats are decoded whole, inside ``budget``, and shrunk by an integer factor at once.
    EXIF orientation is applied. Pictures up to ``max_side`` decode exactly as
    :func:`read_image` does.

    Returns:
        The pixels, and ``(width, height)`` of the whole picture as displayed: scale boxes
        found on the pixels by ``width / pixels.shape[1]`` to place them on the original.

    Raises:
        ImageReadError: as :func:`read_image`.
    """
    if max_side < 1:
        raise ValueError(f"max_side must be a positive number of pixels, got {max_side}")
    name = path if isinstance(path, (str, Path)) else "<bytes>"
    try:
        with _open(path) as im:
            _check_pixels(name, im.size)
            w, h = im.size
            if max(w, h) <= max_side:
                orientation = exif_orientation(im)
                full = (h, w) if orientation in _TRANSPOSING else (w, h)
                return _to_rgb(ImageOps.exif_transpose(im)), full
            scale = max_side / max(w, h)
            im.draft("RGB", (max(1, int(w * scale + 1)), max(1, int(h * scale + 1))))
            need = im.size[0] * im.size[1] * _MODE_BYTES.get(im.mode, len(im.getbands()))
            # inside the budget: reading a PNG's EXIF decodes the whole picture
            with budget.reserve(need) if budget is not None else contextlib.nullcontext():
                orientation = exif_orientation(im)
                im.load()
                factor = max(1, max(im.size) // max_side)
                small = im.reduce(factor) if factor > 1 else im.copy()
            if orientation in _TRANSPOSE:
                small = small.transpose(_TRANSPOSE[orientation])
            full = (h, w) if orientation in _TRANSPOSING else (w, h)
            return _to_rgb(small), full
    except ImageReadError:
        raise
    except FileNotFoundError as exc:
        raise ImageReadError(name, "file not found") from exc
    except _DECODE_ERRORS as exc:
        if isinstance(path, (str, Path)) and is_truncated_jpeg(path):
            image = read_image(path)  # restored as read_image does, at full size
            return image, (image.shape[1], image.shape[0])
        raise ImageReadError(name, _reason(exc)) from exc


# A JPEG whose end-of-image marker is missing from its tail was cut short (interrupted copy).
_JPEG_TAIL = 1 << 16
# A cut JPEG decodes with its missing blocks filled flat (after at most one garbled row of
# blocks); refuse it when more than this share of its rows, at the bottom, is flat.
_TRUNCATED_MAX_FLAT = 0.05


def is_truncated_jpeg(path: str | Path) -> bool:
    """Whether ``path`` is a JPEG without its end-of-image marker (reads only its two ends)."""
    with Path(path).open("rb") as f:
        head = f.read(2)
        size = f.seek(0, 2)
        f.seek(max(0, size - _JPEG_TAIL))
        tail = f.read()
    return head == b"\xff\xd8" and tail.rfind(b"\xff\xd9") < 0


def _flat_bottom_rows(image: np.ndarray) -> int:
    """Rows at the bottom of ``image`` whose pixels are all one colour."""
    spread = (image.max(axis=1).astype(np.int16) - image.min(axis=1)).max(axis=1)
    varied = np.flatnonzero(spread > 2)
    return image.shape[0] - 1 - int(varied[-1]) if len(varied) else image.shape[0]


def read_image_bgr(path: str | Path, notes: list[str] | None = None) -> np.ndarray:
    """Fast decode to ``(H, W, 3)`` uint8 **BGR** with EXIF orientation applied (OpenCV).

    OpenCV's ``imdecode`` releases the GIL, so several threads decode in parallel; with
    ``IMREAD_COLOR`` it applies the EXIF orientation like :func:`read_image`. Files OpenCV
    cannot decode go through Pillow, which either reads them or says why they are unreadable.
    The size is read from the header first (:data:`MAX_IMAGE_PIXELS`). A JPEG without its
    end-of-image marker is decoded when only its last rows are lost, and a warning is
    appended to ``notes`` (like Ultralytics, which restores such files); one missing more
    is refused rather than decoded half grey.

    Raises:
        ImageReadError: the file is missing, empty, truncated, corrupt, not an image, or
            has more than :data:`MAX_IMAGE_PIXELS` pixels.
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
    cut = data[:2] == b"\xff\xd8" and data.rfind(b"\xff\xd9", max(0, len(data) - _JPEG_TAIL)) < 0
    refused = ImageReadError(
        path, "truncated JPEG (no end-of-image marker, part of the picture is missing); "
        "re-copy the file"
    )  # fmt: skip
    try:
        with _open(io.BytesIO(data)) as im:
            _check_pixels(path, im.size)
    except _DECODE_ERRORS as exc:
        raise (refused if cut else ImageReadError(path, _reason(exc))) from exc
    if cut:  # OpenCV decodes from memory only up to an end marker: restore the missing one
        data += b"\xff\xd9"
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if cut:
        flat = 0 if image is None else _flat_bottom_rows(image)
        if image is None or flat > _TRUNCATED_MAX_FLAT * image.shape[0]:
            raise refused
        note = "truncated JPEG (no end-of-image marker) decoded; its last rows may be flat"
        logger.debug("%s: %s", path, note)
        if notes is not None:
            notes.append(note)
    if image is None:
        rgb = _pillow_rgb(io.BytesIO(data), path)  # Pillow's reason when it cannot read it
        return np.ascontiguousarray(rgb[:, :, ::-1])
    return image


def check_images(
    paths: Iterable[Path], workers: int = 2
) -> tuple[list[Path], list[SkippedEntry], dict[Path, str]]:
    """Decode every image once, as the engine would, before anything trains on them.

    Returns ``(readable, skipped, warnings)``: the readable paths in input order, the
    unreadable ones with their reasons (each logged), and what was noted while decoding a
    readable one (a truncated JPEG restored, say).
    """

    def one(path: Path) -> tuple[str | None, list[str]]:
        notes: list[str] = []
        try:
            read_image_bgr(path, notes=notes)
        except ImageReadError as exc:
            return exc.reason, notes
        return None, notes

    paths = [Path(p) for p in paths]
    readable: list[Path] = []
    skipped: list[SkippedEntry] = []
    warnings: dict[Path, str] = {}
    with ThreadPoolExecutor(max(1, workers), "check") as pool:
        for path, (error, notes) in zip(paths, pool.map(one, paths), strict=True):
            if error is not None:
                skip(path, error, skipped)
                continue
            readable.append(path)
            if notes:
                warnings[path] = "; ".join(notes)
    return readable, skipped, warnings
