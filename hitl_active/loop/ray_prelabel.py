"""Pre-labelling on Ray Data: the pool spread over a pool of engine actors, on one or many machines.

Install the ``scale`` extra (``uv sync --extra scale``); Ray is imported only when
:func:`prelabel_on_ray` runs. Each actor holds one :class:`~hitl_active.serving.engine.Engine`
(:class:`hitl_active.serving.rows.BatchPredictor`) and calls
:func:`~hitl_active.serving.rows.prediction_rows` on its batches, the function the local
runner calls, so a row is what the local runner would have stored. Files are read and
decoded inside the actors (the pool's paths must be readable there: one machine, or a shared
filesystem), so an unreadable image comes back as an error row.

Only the driver writes to the state store, a chunk per transaction as results stream in.
Images that already have a prediction are not sent again, so an interrupted pass resumes
where it stopped.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from hitl_active.loop.steps import require_onnx
from hitl_active.serving.metadata import check_class_names, read_model_metadata
from hitl_active.serving.rows import BatchPredictor
from hitl_active.store.store import ImageRow, ModelVersionRow
from hitl_active.workspace.config import WorkspaceError
from hitl_active.workspace.workspace import Workspace

__all__ = ["prelabel_on_ray"]

logger = logging.getLogger(__name__)


def prelabel_on_ray(
    ws: Workspace,
    version: ModelVersionRow,
    images: list[ImageRow],
    actors: int = 2,
    batch_size: int = 16,
    threads_per_actor: int = 1,
    address: str | None = None,
    on_chunk: Callable[[int], None] | None = None,
) -> int:
    """Store ``version``'s predictions for the ``images`` it has not seen, computed on Ray.

    Uses Ray if this process already joined it; otherwise ``ray.init(address)``, where
    ``address`` is ``"local"`` or ``None`` (a Ray started on this machine), ``"auto"`` (the
    cluster this machine joined) or ``"ray://HEAD:10001"``. ``on_chunk`` is called with the
    running count after each stored chunk (progress). Returns how many images were
    pre-labelled.

    Raises:
        WorkspaceError: Ray is not installed (the ``scale`` extra).
        ModelLoadError: the version's classes are not the workspace's.
    """
    try:
        import ray
    except ImportError as exc:
        raise WorkspaceError(
            "pre-labelling on Ray needs the scale extra: uv sync --extra scale "
            "(or pip install 'hitl-active[scale]'), or leave ray_address unset"
        ) from exc

    done = ws.store.predicted_ids(version.name)
    todo = [img for img in images if img.id not in done]
    if not todo:
        return 0
    _check_version(version, ws.config.classes)  # the driver refuses a model of other classes
    if not ray.is_initialized():
        ray.init(address=None if address in (None, "local") else address, log_to_driver=False)
    items = [{"image_id": img.id, "path": img.path} for img in todo]
    results = ray.data.from_items(items).map_batches(
        BatchPredictor,
        fn_constructor_kwargs={
            "onnx": str(version.onnx),
            "model_version": version.name,
            "threads": threads_per_actor,
        },
        batch_size=batch_size,
        batch_format="numpy",
        concurrency=actors,
        num_cpus=threads_per_actor,
    )
    written = 0
    # batch_size=None: each block as soon as an actor returns it (no waiting to fill a chunk)
    for batch in results.iter_batches(batch_size=None, batch_format="numpy"):
        rows = _rows(batch)
        ws.store.put_predictions(version.name, rows)
        written += len(rows)
        if on_chunk is not None:
            on_chunk(written)
    logger.info("pre-labelled %d images with %s on Ray", written, version.name)
    return written


def _check_version(version: ModelVersionRow, classes: list[str]) -> None:
    """Refuse a version without its ONNX file or of other classes, from its metadata alone
    (the driver loads no engine: its CPU is better left to the actors starting up)."""

    require_onnx(version)
    names = read_model_metadata(version.onnx).class_names
    check_class_names(version.onnx, names, classes, "the workspace")


def _rows(batch: dict[str, Any]) -> list[tuple[int, Any, str | None, None]]:
    return [
        (int(i), det, error, None)
        for i, det, error in zip(
            batch["image_id"], batch["detections"], batch["error"], strict=True
        )
    ]
