"""Push selected images as Label Studio tasks with pre-labels, without ever duplicating one.

Each task carries ``data.image`` (a local-files or plain URL), ``data.image_key`` (the
pool's name for the image, the dedup key), ``data.width``/``data.height``, and its
pre-label as a prediction: rectangles in percent with a per-region ``score``, the image's
uncertainty as the prediction ``score`` and the model's ``model_version``.

Tasks are created in ranked order, so the project's sequential sampling shows the most
useful images first. (Label Studio's own "uncertainty sampling" shows the *lowest*
prediction score first, which here would be the most certain image.)
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from hitl_active.detections import Detections
from hitl_active.formats.core import ImageLabels
from hitl_active.formats.labelstudio import to_ls_results
from hitl_active.labelstudio.client import LabelStudioClient
from hitl_active.labelstudio.project import ProjectInfo, image_url
from hitl_active.labelstudio.sink import AnnotationSink

__all__ = ["PushItem", "PushReport", "RefreshReport", "push_tasks", "refresh_predictions"]

logger = logging.getLogger(__name__)


@dataclass
class PushItem:
    """One image to send for labelling.

    Attributes:
        image_key: the pool's stable name for the image (dedup key).
        image: local path (under the local-files root) or URL; defaults to ``image_key``.
        width, height: original image size in pixels.
        prelabel: boxes to show (already thresholded), or ``None`` for no pre-label.
        uncertainty: the sampler's score for the image (the prediction's ``score``).
    """

    image_key: str
    width: int
    height: int
    prelabel: Detections | ImageLabels | None = None
    uncertainty: float | None = None
    image: str | Path | None = None


@dataclass
class PushReport:
    created: int = 0
    already_there: int = 0
    task_ids: dict[str, int] = field(default_factory=dict)


@dataclass
class RefreshReport:
    replaced: int = 0
    skipped_annotated: int = 0
    missing: int = 0


def prediction_for(item: PushItem, project: ProjectInfo, model_version: str) -> dict[str, Any]:
    """The Label Studio prediction dict for one item's pre-label."""
    if item.prelabel is None:
        raise ValueError(f"{item.image_key!r} has no pre-label to send as a prediction")
    result = to_ls_results(
        item.prelabel,
        project.class_names,
        project.from_name,
        project.to_name,
        width=item.width,
        height=item.height,
    )
    prediction: dict[str, Any] = {"result": result, "model_version": model_version}
    if item.uncertainty is not None:
        prediction["score"] = float(item.uncertainty)
    return prediction


def project_index(
    client: LabelStudioClient, project_id: int, after_task_id: int | None = None
) -> dict[str, dict[str, Any]]:
    """``image_key`` → light task dict for every task in the project (with an id above
    ``after_task_id`` when given)."""
    filters = None
    if after_task_id is not None:
        filters = {
            "conjunction": "and",
            "items": [
                {"filter": "filter:tasks:id", "operator": "greater", "type": "Number",
                 "value": int(after_task_id)},
            ],
        }  # fmt: skip
    index: dict[str, dict[str, Any]] = {}
    for task in client.iter_tasks(project_id, filters=filters, fields=None, page_size=2000):
        key = (task.get("data") or {}).get("image_key")
        if key is not None:
            index.setdefault(str(key), task)
    return index


def push_tasks(
    client: LabelStudioClient,
    project: ProjectInfo,
    items: Iterable[PushItem],
    sink: AnnotationSink,
    model_version: str,
    files_root: str | Path | None = None,
    batch_size: int = 500,
    progress: bool = True,
) -> PushReport:
    """Create one task per new image (in batches); images already pushed are left alone."""
    report = PushReport()
    todo: list[PushItem] = []
    seen: set[str] = set()
    for item in items:
        if item.image_key in seen:
            continue
        seen.add(item.image_key)
        task_id = sink.task_for_image(project.id, item.image_key)
        if task_id is not None:
            report.task_ids[item.image_key] = task_id
            report.already_there += 1
        else:
            todo.append(item)
    if todo:  # a crash after an import but before its recording must not duplicate either:
        # such tasks are newer than every recorded one, so only those are listed
        index = project_index(client, project.id, sink.last_task_id(project.id))
        fresh = []
        for item in todo:
            task = index.get(item.image_key)
            if task is None:
                fresh.append(item)
                continue
            sink.record_task(project.id, item.image_key, int(task["id"]))
            report.task_ids[item.image_key] = int(task["id"])
            report.already_there += 1
        todo = fresh
    bar = tqdm(total=len(todo), desc="push tasks", unit="task", disable=not progress)
    for start in range(0, len(todo), batch_size):
        batch = todo[start : start + batch_size]
        tasks = [_task(item, project, model_version, files_root) for item in batch]
        ids = client.import_tasks(project.id, tasks)
        for item, task_id in zip(batch, ids, strict=True):
            sink.record_task(project.id, item.image_key, task_id)
            report.task_ids[item.image_key] = task_id
        report.created += len(batch)
        bar.update(len(batch))
    bar.close()
    logger.info(
        "pushed %d new tasks to project %d (%d already there)",
        report.created,
        project.id,
        report.already_there,
    )
    return report


def _task(
    item: PushItem, project: ProjectInfo, model_version: str, files_root: str | Path | None
) -> dict[str, Any]:
    data = {
        project.value_key: image_url(
            item.image if item.image is not None else item.image_key, files_root
        ),
        "image_key": item.image_key,
        "width": int(item.width),
        "height": int(item.height),
    }
    task: dict[str, Any] = {"data": data}
    if item.prelabel is not None:
        task["predictions"] = [prediction_for(item, project, model_version)]
    return task


def refresh_predictions(
    client: LabelStudioClient,
    project: ProjectInfo,
    items: Sequence[PushItem],
    model_version: str,
    batch_size: int = 500,
) -> RefreshReport:
    """After a promotion: replace the pre-labels of tasks nobody has annotated yet.

    Annotated (or skipped) tasks keep their predictions, so their diffs stay meaningful.
    The project's ``model_version`` is set so annotators see the newest pre-labels.
    """
    report = RefreshReport()
    index = project_index(client, project.id)
    todo: list[tuple[int, PushItem]] = []
    for item in items:
        task = index.get(item.image_key)
        if task is None:
            report.missing += 1
        elif (
            int(task.get("total_annotations") or 0) + int(task.get("cancelled_annotations") or 0)
            > 0
        ):
            report.skipped_annotated += 1
        elif item.prelabel is not None:
            todo.append((int(task["id"]), item))
    for start in range(0, len(todo), batch_size):
        batch = todo[start : start + batch_size]
        client.dm_action(project.id, "delete_tasks_predictions", [tid for tid, _ in batch])
        predictions = [
            {"task": tid, **prediction_for(item, project, model_version)} for tid, item in batch
        ]
        client.import_predictions(project.id, predictions)
        report.replaced += len(batch)
    if report.replaced:
        # Label Studio refuses a project model_version that no prediction carries.
        client.request(
            "PATCH", f"/api/projects/{project.id}", json={"model_version": model_version}
        )
    logger.info(
        "model %s: replaced pre-labels of %d tasks, kept %d annotated ones",
        model_version,
        report.replaced,
        report.skipped_annotated,
    )
    return report
