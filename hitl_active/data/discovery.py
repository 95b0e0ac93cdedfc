"""Finding the image files of a pool and checking that each decodes; what is left out, and why.

A pool folder is walked with :func:`os.scandir`. Symlinked folders are followed, each folder
listed once; a link back to a folder being walked (a loop), a second way into a folder
already listed, a folder that cannot be listed and a broken or looping link are reported
as :class:`SkippedEntry` (and logged), never silently absent. Hidden files and folders are
left out on purpose and not reported.
"""

from __future__ import annotations

import errno
import logging
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

__all__ = ["IMAGE_SUFFIXES", "SkippedEntry", "discover_images", "skip"]

logger = logging.getLogger(__name__)

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"})

# os.scandir, named so a test can stand in for a folder that even root cannot list.
_scandir: Callable[[str | os.PathLike], Iterable[os.DirEntry]] = os.scandir


@dataclass(frozen=True)
class SkippedEntry:
    """A pool entry left out, and why, in words a user can act on."""

    path: Path
    reason: str

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"


def _os_reason(exc: OSError) -> str:
    if exc.errno == errno.ELOOP:
        return "symlink loop (the link resolves to itself)"
    if exc.errno == errno.EACCES or isinstance(exc, PermissionError):
        return "permission denied; make it readable (chmod +rx) to include it"
    if exc.errno == errno.ENOENT:
        return "broken symlink (its target does not exist)"
    return f"cannot be read ({exc.strerror or exc})"


def skip(path: Path, reason: str, skipped: list[SkippedEntry] | None) -> None:
    entry = SkippedEntry(path, reason)
    logger.warning("skipped %s", entry)
    if skipped is not None:
        skipped.append(entry)


def _walk(
    folder: Path,
    ancestors: set[tuple[int, int]],
    seen: dict[tuple[int, int], Path],
    out: list[Path],
    skipped: list[SkippedEntry] | None,
    recursive: bool,
) -> None:
    try:
        entries = sorted(_scandir(folder), key=lambda e: e.name)
    except OSError as exc:
        skip(folder, _os_reason(exc), skipped)
        return
    for entry in entries:
        if entry.name.startswith("."):
            continue
        path = folder / entry.name
        try:
            is_dir = entry.is_dir()
            is_file = not is_dir and entry.is_file()
        except OSError as exc:
            skip(path, _os_reason(exc), skipped)
            continue
        if is_dir:
            if not recursive:
                continue
            try:
                st = path.stat()
            except OSError as exc:
                skip(path, _os_reason(exc), skipped)
                continue
            key = (st.st_dev, st.st_ino)
            if key in ancestors:
                skip(path, f"symlink loop (links back to {path.resolve()})", skipped)
                continue
            if key in seen:
                skip(path, f"the same folder as {seen[key]}, listed once", skipped)
                continue
            seen[key] = path
            _walk(path, ancestors | {key}, seen, out, skipped, recursive)
        elif is_file:
            if path.suffix.lower() in IMAGE_SUFFIXES:
                out.append(path)
        elif entry.is_symlink():
            try:
                path.stat()
            except OSError as exc:  # a broken or looping link, whatever its name
                skip(path, _os_reason(exc), skipped)
                continue
            if path.suffix.lower() in IMAGE_SUFFIXES:
                skip(path, "links to something that is not a regular file", skipped)
        elif path.suffix.lower() in IMAGE_SUFFIXES:
            skip(path, "not a regular file", skipped)


def discover_images(
    root: str | Path, recursive: bool = True, skipped: list[SkippedEntry] | None = None
) -> Iterator[Path]:
    """Yield image files under ``root`` in sorted order.

    Only the sorted list of paths is held (a few MB for 100k files), never pixels. Entries
    that cannot be listed or followed are logged and appended to ``skipped`` (see the
    module docstring); hidden files and folders are left out without a word.

    Raises:
        FileNotFoundError: ``root`` does not exist.
    """
    root = Path(root)
    if not root.exists():
        raise FileNotFoundError(f"image folder {root} does not exist")
    if root.is_file():
        yield root
        return
    found: list[Path] = []
    st = root.stat()
    key = (st.st_dev, st.st_ino)
    _walk(root, {key}, {key: root}, found, skipped, recursive)
    yield from sorted(found)
