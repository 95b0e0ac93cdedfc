"""Where training starts: the shipped photo base, random weights, or a detector of your own.

A start is named in ``hitl-active.yaml`` (``model:``) or by ``init --model``:

* ``base`` (the default): hitl-active's own YOLO11n, trained on a corpus of real labelled
  photos (docs/base_model.md) and shipped in the package; its class head is re-made for the
  workspace's classes when training starts, the rest is kept;
* ``scratch``: random weights (``yolo11n.yaml``); a model YAML by name or path does the same
  with another architecture;
* a local ``.pt`` file;
* a name Ultralytics publishes (``yolo11n.pt``, ``yolov8s.pt``, ...): downloaded once into
  hitl-active's cache when the machine is online; offline, one line says to pass a file.
"""

from __future__ import annotations

import hashlib
import logging
from importlib import resources
from pathlib import Path

from hitl_active.models.ultra import cache_dir, ultralytics_yolo

__all__ = [
    "BASE",
    "SCRATCH",
    "StartModelError",
    "is_random_start",
    "resolve_start",
    "shipped_base",
    "weights_sha256",
]

logger = logging.getLogger(__name__)

BASE = "base"
SCRATCH = "scratch"
SCRATCH_YAML = "yolo11n.yaml"
BASE_FILE = "hitl-base-yolo11n.pt"


class StartModelError(ValueError):
    """A start model that cannot be had; the message says what to pass instead."""


def shipped_base() -> Path:
    """The photo base's weights inside the installed package."""
    return Path(str(resources.files("hitl_active.models") / "weights" / BASE_FILE))


def weights_sha256(path: str | Path) -> str:
    """The sha256 of a weights file: which start a figure or a run belongs to."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def is_random_start(name: str) -> bool:
    """Whether ``name`` starts training from random weights (a model YAML)."""
    return name == SCRATCH or name.lower().endswith((".yaml", ".yml"))


def _published(name: str) -> bool:

    ultralytics_yolo()  # imported through the one door
    from ultralytics.utils.downloads import GITHUB_ASSETS_NAMES

    return name in GITHUB_ASSETS_NAMES


def _download(name: str, target: Path) -> None:
    """Ultralytics' own download of a published asset (its release files)."""
    from ultralytics.utils.downloads import attempt_download_asset

    attempt_download_asset(target)


def resolve_start(name: str) -> str:
    """What Ultralytics should load for the start ``name`` (a YAML name or a local path).

    Raises:
        StartModelError: the file is missing, the name is unknown, or a published model
            cannot be downloaded (offline); the message names what to pass instead.
    """
    instead = f"--model {BASE} (the shipped photo base), --model {SCRATCH}, or a local .pt file"
    if name == SCRATCH:
        return SCRATCH_YAML
    if name == BASE:
        path = shipped_base()
        if not path.is_file():
            raise StartModelError(
                f"the shipped photo base {path} is missing from this install; reinstall "
                f"hitl-active, or pass --model {SCRATCH} or a local .pt file"
            )
        return str(path)
    if name.lower().endswith((".yaml", ".yml")):
        return name  # Ultralytics resolves bundled names such as yolo11n.yaml
    path = Path(name).expanduser()
    if path.is_file():
        return str(path)
    if path.suffix != ".pt":
        raise StartModelError(f"start model {name!r} is not a file; pass {instead}")
    if path.parent != Path(".") or not _published(path.name):
        raise StartModelError(f"weights file {name} not found; pass {instead}")

    target = cache_dir() / "weights" / path.name
    if not target.is_file():
        target.parent.mkdir(parents=True, exist_ok=True)
        logger.info("downloading %s (published by Ultralytics) to %s", path.name, target)
        try:
            _download(path.name, target)
        except Exception as exc:  # Ultralytics raises ConnectionError, OSError, ...
            raise StartModelError(
                f"{path.name} is not on this machine and could not be downloaded "
                f"({type(exc).__name__}; offline?); download it elsewhere and pass the local "
                f"file (--model /path/to/{path.name}), or use {instead[8:]}"
            ) from None
        if not target.is_file():
            raise StartModelError(
                f"{path.name} could not be downloaded (offline?); download it elsewhere and "
                f"pass the local file (--model /path/to/{path.name})"
            )
    return str(target)
