"""Bring an existing detector into a workspace as a model version.

``hitl-active init WS --model best.pt|model.onnx`` and ``hitl-active models add -w WS
FILE`` call :func:`import_model`: a ``.pt`` is exported to ONNX with the project's exporter
(embedding output, the workspace's image size, the version stamped in), an ``.onnx`` is
copied as it is; either way its class names must be the workspace's, in order. The version
is evaluated on the gold set when the gold set has labels, and promoted when nothing is
promoted yet (or when it beats the promoted version, or with ``force``), so the next round
goes out with its pre-labels.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

from hitl_active.loop.registry import ModelRegistry
from hitl_active.loop.steps import evaluate_version, gold_truths
from hitl_active.models.export import export_onnx
from hitl_active.serving.metadata import read_model_metadata
from hitl_active.store.store import ModelVersionRow
from hitl_active.workspace.workspace import Workspace

__all__ = ["ModelImportError", "import_model"]

logger = logging.getLogger(__name__)

SUFFIXES = (".pt", ".onnx")


class ModelImportError(ValueError):
    """The file is not a detector this workspace can use."""


class OtherClassesError(ModelImportError):
    """A detector of other classes: a start for training, not a version of this workspace."""


def _check_classes(onnx: Path, classes: list[str], source: Path) -> None:

    try:
        names = list(read_model_metadata(onnx).class_names)
    except (ValueError, OSError) as exc:
        raise ModelImportError(f"cannot read {source} as an ONNX detector: {exc}") from exc
    if names != list(classes):
        raise OtherClassesError(
            f"{source} detects {names}, but the workspace's classes are {list(classes)}; "
            "bring a model trained on the workspace's classes in the same order, or create "
            "the workspace with --classes " + ",".join(names)
        )


def import_model(
    ws: Workspace, path: str | Path, force: bool = False, progress: bool = False
) -> tuple[ModelVersionRow, bool]:
    """Register ``path`` (``.pt`` or ``.onnx``) as a new version; ``(version, promoted)``."""

    path = Path(path)
    if path.suffix.lower() not in SUFFIXES:
        raise ModelImportError(
            f"{path} is neither Ultralytics weights (.pt) nor an ONNX export (.onnx)"
        )
    if not path.is_file():
        raise ModelImportError(f"model file {path} not found")
    staging = ws.work_dir / "import"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    weights: Path | None = None
    if path.suffix.lower() == ".pt":
        onnx = export_onnx(path, staging / "model.onnx", imgsz=ws.config.imgsz)
        weights = path
    else:
        onnx = staging / "model.onnx"
        shutil.copy2(path, onnx)
    _check_classes(onnx, ws.config.classes, path)  # before anything is registered
    registry = ModelRegistry(ws.store, ws.models_dir)
    name = registry.begin_version(None)
    snapshot = {"parent": None, "imported_from": str(path.resolve()), "n_images": 0, "images": []}
    version = registry.finish_version(name, weights, onnx, snapshot, {"imported": True})
    shutil.rmtree(staging, ignore_errors=True)
    if gold_truths(ws):
        evaluate_version(ws, registry, version, progress)
    else:
        logger.info("%s: the gold set has no labels yet, so it is not evaluated", name)
    promoted = registry.promote(name, force=force)
    logger.info("imported %s as %s (%s)", path, name, "promoted" if promoted else "candidate")
    return registry.get(name), promoted
