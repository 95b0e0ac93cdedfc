"""The one door to Ultralytics: imported offline, quietly, with settings of its own.

Ultralytics reads a settings file from the user's config folder (``~/.config/Ultralytics``)
when it is first imported, creates it with a banner on a machine where it never ran, and
binds its log handler to standard output. Through :func:`ultralytics_yolo`:

* nothing is downloaded (``YOLO_OFFLINE=1`` unless the user set it);
* the settings live in hitl-active's own cache (``$XDG_CACHE_HOME/hitl-active/ultralytics``,
  or ``~/.cache/...``) unless the user set ``YOLO_CONFIG_DIR``, so what earlier Ultralytics
  runs on the machine configured (integrations, folders) does not change ours;
* the first-run banner is dropped and Ultralytics' log lines go to standard error, so our
  tables and ``--json`` output on standard output are ours alone;
* what ``OMP_NUM_THREADS`` was before the import is kept (:func:`user_cpu_threads`):
  Ultralytics sets it to 1 when it is unset, and that 1 is not the user's choice.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

__all__ = [
    "cache_dir",
    "quiet_ultralytics",
    "ultralytics_config_dir",
    "ultralytics_yolo",
    "user_cpu_threads",
]

logger = logging.getLogger(__name__)

_HANDLER = "ultralytics.utils.set_logging"  # the name Ultralytics gives its stream handler
_imported_here = False  # whether Ultralytics was first imported by ultralytics_yolo
_omp_before_import: str | None = None  # OMP_NUM_THREADS just before that import


def cache_dir() -> Path:
    """hitl-active's own cache folder: ``$XDG_CACHE_HOME/hitl-active`` (``~/.cache/...``)."""
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "hitl-active"


def ultralytics_config_dir() -> Path:
    """Where Ultralytics keeps its settings when we import it (the user's choice first)."""
    if os.environ.get("YOLO_CONFIG_DIR"):
        return Path(os.environ["YOLO_CONFIG_DIR"])
    return cache_dir() / "ultralytics"


def _warnings_only(record: logging.LogRecord) -> bool:
    return record.levelno >= logging.WARNING


def ultralytics_yolo() -> Any:
    """Ultralytics' ``YOLO`` class, first imported as the module docstring says."""
    global _imported_here, _omp_before_import
    if "ultralytics" not in sys.modules:
        _imported_here, _omp_before_import = True, os.environ.get("OMP_NUM_THREADS")
        os.environ.setdefault("YOLO_OFFLINE", "1")  # read by Ultralytics when first imported
        os.environ.setdefault("YOLO_CONFIG_DIR", str(ultralytics_config_dir()))
        ulog = logging.getLogger("ultralytics")
        ulog.addFilter(_warnings_only)  # the import's own notes (the settings banner)
        try:
            import ultralytics  # noqa: F401
        finally:
            ulog.removeFilter(_warnings_only)
        for handler in ulog.handlers:
            if handler.get_name() == _HANDLER and isinstance(handler, logging.StreamHandler):
                handler.setStream(sys.stderr)
    from ultralytics import YOLO

    return YOLO


def user_cpu_threads() -> int | None:
    """The CPU thread count the user set in ``OMP_NUM_THREADS``, or ``None`` if they set none.

    Importing Ultralytics sets ``OMP_NUM_THREADS=1`` when it is unset (so its data-loader
    workers do not oversubscribe the cores); after that the environment alone cannot tell
    the user's 1 from Ultralytics', so the value read before the import is the one that counts.
    """
    raw = _omp_before_import if _imported_here else os.environ.get("OMP_NUM_THREADS")
    raw = (raw or "").strip()
    return int(raw) if raw.isdigit() and int(raw) > 0 else None


@contextlib.contextmanager
def quiet_ultralytics() -> Iterator[None]:
    """Silence Ultralytics' console logs and progress bars unless we log at DEBUG."""
    ulog = logging.getLogger("ultralytics")
    previous = ulog.level
    if not logger.isEnabledFor(logging.DEBUG):
        ulog.setLevel(logging.WARNING)
    try:
        yield
    finally:
        ulog.setLevel(previous)
