"""Resumable pre-label output: one JSON object per image in a ``.jsonl`` file.

Each line is either::

    {"image": "/abs/path.jpg", "width": w, "height": h, "model_version": "...",
     "detections": Detections.to_dict(), "warning": "..." (only when there was one)}
    {"image": "/abs/path.jpg", "error": "reason"}

Every candidate box above the engine's ``conf_floor`` is stored; the display threshold for
pre-labels is applied by readers (``Detections.above``). Lines are flushed one by one, so a
crash loses at most the last, partial line; :func:`read_done` drops such a line and a re-run
appends only the images not yet written.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hitl_active.serving.engine import Engine, PathPrediction

__all__ = ["PrelabelSummary", "image_key", "read_done", "read_predictions", "write_predictions"]

logger = logging.getLogger(__name__)


def image_key(path: str | Path) -> str:
    """How an image is named in the file: its absolute path (symlinks kept)."""
    return os.path.abspath(path)


def _repair_tail(out: Path, chunk: int = 1 << 16) -> None:
    """Cut a partial last line (no trailing newline) left by an interrupted run.

    Scans backwards from the end in chunks, so a large file is never read whole.
    """
    size = out.stat().st_size
    if size == 0:
        return
    with out.open("rb+") as f:
        f.seek(size - 1)
        if f.read(1) == b"\n":
            return
        end = size
        keep = 0
        while end > 0:
            start = max(0, end - chunk)
            f.seek(start)
            found = f.read(end - start).rfind(b"\n")
            if found >= 0:
                keep = start + found + 1
                break
            end = start
        f.truncate(keep)
    logger.warning(
        "%s: dropped a partial last line (%d bytes) from an interrupted run", out, size - keep
    )


def read_predictions(out: str | Path) -> Iterator[dict[str, Any]]:
    """The records of a pre-label file, skipping (with a warning) lines that are not JSON."""
    out = Path(out)
    with out.open(encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                logger.warning("%s:%d is not valid JSON; ignored", out, number)
                continue
            if isinstance(record, dict) and "image" in record:
                yield record


def read_done(out: str | Path, retry_errors: bool = False) -> set[str]:
    """Images already in ``out`` (repairing a partial last line first).

    With ``retry_errors`` the file is rewritten without its error lines, so those images
    are tried again.
    """
    out = Path(out)
    if not out.exists():
        return set()
    _repair_tail(out)
    done: set[str] = set()
    errors = 0
    for record in read_predictions(out):
        if "error" in record and retry_errors:
            errors += 1
            continue
        done.add(str(record["image"]))
    if retry_errors and errors:
        tmp = out.with_suffix(out.suffix + ".tmp")
        with tmp.open("w", encoding="utf-8") as f:
            for record in read_predictions(out):
                if "error" not in record:
                    f.write(json.dumps(record) + "\n")
        tmp.replace(out)
        logger.info("%s: %d images with errors will be tried again", out, errors)
    return done


@dataclass
class PrelabelSummary:
    """Counts for one pre-labelling run."""

    written: int = 0
    skipped: int = 0
    errors: int = 0
    boxes: int = 0
    shown: int = 0  # boxes at or above the display threshold


def _record(prediction: PathPrediction, model_version: str) -> dict[str, Any]:
    key = image_key(prediction.path)
    if prediction.detections is None:
        return {"image": key, "error": prediction.error}
    det = prediction.detections
    width, height = det.image_size or (0, 0)
    record = {
        "image": key,
        "width": width,
        "height": height,
        "model_version": model_version,
        "detections": det.to_dict(),
    }
    if prediction.warning:
        record["warning"] = prediction.warning
    return record


def write_predictions(
    engine: Engine,
    paths: Iterable[str | Path],
    out: str | Path,
    display_threshold: float = 0.25,
    progress: bool = True,
    retry_errors: bool = False,
) -> PrelabelSummary:
    """Pre-label ``paths`` into ``out``, skipping images already there (resumable)."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    done = read_done(out, retry_errors=retry_errors)
    summary = PrelabelSummary()
    todo: list[Path] = []
    for path in paths:
        if image_key(path) in done:
            summary.skipped += 1
        else:
            todo.append(Path(path))
    if summary.skipped:
        logger.info("resuming: %d images already in %s, %d to do", summary.skipped, out, len(todo))
    with out.open("a", encoding="utf-8") as f:
        for prediction in engine.predict_paths(todo, progress=progress):
            f.write(json.dumps(_record(prediction, engine.model_version)) + "\n")
            f.flush()
            if prediction.detections is None:
                summary.errors += 1
                logger.warning("skipped %s: %s", prediction.path, prediction.error)
            else:
                summary.written += 1
                summary.boxes += len(prediction.detections)
                summary.shown += int((prediction.detections.confidence >= display_threshold).sum())
    return summary
