"""Push selected images as Label Studio tasks with pre-labels, without ever duplicating one.

Each task carries ``data.image`` (a local-files or plain URL), ``data.name`` (the image's
path under the local-files root: what annotators see), ``data.image_key`` (the pool's name
for the image, the dedup key), numeric ``data.width``/``data.height`` and, when the image
was selected, numbers the Data Manager sorts: ``data.rank`` (1 = the sampler's first
choice), ``data.uncertainty`` (the model's uncertainty about the image, in [0, 1]:
:func:`hitl_active.sampling.image_uncertainty`) and ``data.selection_score`` (the
strategy's own score, on its own scale: a knapsack's may be negative), with ``data.why``,
one line saying why the image was chosen, shown above the image. The pre-label goes as a
prediction: rectangles in percent with a per-region ``score``, the model's
``model_version`` and a prediction ``score`` (:func:`prediction_score`) that is lowest
for the image to look at first (a refreshed pre-label keeps its task's rank). After a
push the project's ``model_version`` is the pushed one: Label Studio asks its ML backend
for a prediction only when a task has none of the project's version, so this keeps it from
storing a second prediction of a version already shown.

Tasks are created in ranked order, so the project's sequential sampling shows the most
useful images first, and Label Studio's own "uncertainty sampling" (lowest prediction
score first) shows them in the same order.
"""

from __future__ import annotations

import dataclasses
import logging
import urllib.parse
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from hitl_active.detections import Detections
from hitl_active.formats.core import ImageLabels
from hitl_active.formats.labelstudio import to_ls_results
from hitl_active.labelstudio.client import LabelStudioClient, LabelStudioError
from hitl_active.labelstudio.light import TaskImageSpec, light_copy_or_original
from hitl_active.labelstudio.project import (
    LOCAL_FILES_PREFIX,
    REVIEW_CONTROL,
    ProjectInfo,
    image_url,
)
from hitl_active.labelstudio.sink import AnnotationSink

__all__ = [
    "PushItem",
    "PushReport",
    "RefreshReport",
    "push_tasks",
    "refresh_predictions",
    "set_model_version",
]

logger = logging.getLogger(__name__)


@dataclass
class PushItem:
    """One image to send for labelling.

    Attributes:
        image_key: the pool's stable name for the image (dedup key).
        image: local path (under the local-files root) or URL; defaults to ``image_key``.
        width, height: original image size in pixels.
        prelabel: boxes to show (already thresholded), or ``None`` for no pre-label.
        uncertainty: the model's uncertainty about the image, in [0, 1].
        rank: the image's place in the sampler's ranking (1 is the most useful), of
            ``ranked`` images pushed together.
        selection_score: the strategy's score for the image, on its own scale.
        why: one line for the annotator: why this image was chosen.
        review: for a box review, each pre-label box's kind (``check`` or ``fix``), sent
            as a per-region choice of the project's ``review`` control
            (:data:`~hitl_active.labelstudio.project.REVIEW_CONTROL`).
    """

    image_key: str
    width: int
    height: int
    prelabel: Detections | ImageLabels | None = None
    uncertainty: float | None = None
    image: str | Path | None = None
    rank: int | None = None
    ranked: int | None = None
    selection_score: float | None = None
    why: str | None = None
    review: list[str] | None = None


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
    if item.review is not None:
        if len(item.review) != len(result):
            raise ValueError(
                f"{item.image_key!r}: {len(item.review)} review kinds for {len(result)} boxes"
            )
        result = result + [
            {
                "id": region["id"], "from_name": REVIEW_CONTROL, "to_name": project.to_name,
                "type": "choices", "original_width": region["original_width"],
                "original_height": region["original_height"], "image_rotation": 0,
                "value": {**{k: v for k, v in region["value"].items()
                             if k != "rectanglelabels"}, "choices": [kind]},
            }
            for region, kind in zip(result, item.review, strict=True)
        ]  # fmt: skip
    prediction: dict[str, Any] = {"result": result, "model_version": model_version}
    score = prediction_score(item.uncertainty, item.rank)
    if score is not None:
        prediction["score"] = score
    return prediction


def prediction_score(uncertainty: float | None, rank: int | None = None) -> float | None:
    """The prediction ``score`` Label Studio keeps for a task: lowest is looked at first.

    Label Studio accepts scores in [0, 1] and its uncertainty sampling serves the lowest
    first. A selected image scores by its place in the sampler's order, ``1 - 1 / rank``
    (the first choice 0, the second 0.5, ...), so sorting by score gives the sampler's
    order whatever the strategy's own scale; an image not ranked (a ``/predict`` answer)
    scores ``1 - uncertainty``, the model's confidence, so the most uncertain comes first.
    ``None`` when there is neither.
    """
    if rank is not None and rank >= 1:
        return round(1.0 - 1.0 / rank, 6)
    if uncertainty is None or not np.isfinite(uncertainty):
        return None
    return round(1.0 - min(max(float(uncertainty), 0.0), 1.0), 6)


def project_index(
    client: LabelStudioClient,
    project_id: int,
    after_task_id: int | None = None,
    unanswered: bool = False,
) -> dict[str, dict[str, Any]]:
    """``image_key`` → light task dict for every task in the project (with an id above
    ``after_task_id`` when given; only tasks without annotations or skips if ``unanswered``).
    With several tasks for one image (one skipped, then pushed again) the newest wins."""
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
        if key is None or (unanswered and answered(task)):
            continue
        index[str(key)] = task
    return index


def answered(task: dict[str, Any]) -> bool:
    """Whether a Label Studio task has an annotation or a skip."""
    return int(task.get("total_annotations") or 0) + int(task.get("cancelled_annotations") or 0) > 0


def set_model_version(client: LabelStudioClient, project_id: int, model_version: str) -> bool:
    """Make ``model_version`` the project's; ``False`` when no prediction carries it yet."""
    try:
        client.request(
            "PATCH", f"/api/projects/{project_id}", json={"model_version": model_version}
        )
    except LabelStudioError as exc:  # Label Studio refuses a version no prediction has
        logger.info("project %d keeps its model version: %s", project_id, exc)
        return False
    return True


def push_tasks(
    client: LabelStudioClient,
    project: ProjectInfo,
    items: Iterable[PushItem],
    sink: AnnotationSink,
    model_version: str,
    files_root: str | Path | None = None,
    batch_size: int = 500,
    progress: bool = True,
    task_image: TaskImageSpec | None = None,
) -> PushReport:
    """Create one task per new image (in batches); images already pushed are left alone.

    With ``task_image`` a task shows a light copy of a local image (long side and JPEG
    quality as it says; :mod:`hitl_active.labelstudio.light`); boxes still come back in
    the original's pixels."""
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
        # such tasks are newer than every recorded one and unanswered, so only those are listed
        index = project_index(client, project.id, sink.last_task_id(project.id), unanswered=True)
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
        tasks = [_task(item, project, model_version, files_root, task_image) for item in batch]
        ids = client.import_tasks(project.id, tasks)
        for item, task_id in zip(batch, ids, strict=True):
            sink.record_task(project.id, item.image_key, task_id)
            report.task_ids[item.image_key] = task_id
        report.created += len(batch)
        bar.update(len(batch))
    bar.close()
    if any(item.prelabel is not None for item in todo):
        set_model_version(client, project.id, model_version)
    logger.info(
        "pushed %d new tasks to project %d (%d already there)",
        report.created,
        project.id,
        report.already_there,
    )
    return report


def _display_name(url: str, image_key: str) -> str:
    """The image's path under the local-files root (from its URL), else its file name."""
    if url.startswith(LOCAL_FILES_PREFIX):
        return urllib.parse.unquote(url[len(LOCAL_FILES_PREFIX) :])
    return Path(urllib.parse.urlparse(image_key).path or image_key).name


def _task(
    item: PushItem,
    project: ProjectInfo,
    model_version: str,
    files_root: str | Path | None,
    task_image: TaskImageSpec | None = None,
) -> dict[str, Any]:
    original = item.image if item.image is not None else item.image_key
    url = image_url(original, files_root)
    shown = light_copy_or_original(original, files_root, task_image)
    data = {
        project.value_key: url if shown is original else image_url(shown, files_root),
        "name": _display_name(url, item.image_key),  # what annotators see, not a server path
        "image_key": item.image_key,
        "width": int(item.width),
        "height": int(item.height),
    }
    if item.rank is not None:
        data["rank"] = int(item.rank)
    if item.uncertainty is not None:
        data["uncertainty"] = round(float(item.uncertainty), 6)
    if item.selection_score is not None and np.isfinite(item.selection_score):
        data["selection_score"] = round(float(item.selection_score), 6)
    if item.why:
        data["why"] = item.why
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
    The project's ``model_version`` is set so annotators see the newest pre-labels (when
    a task got them: with every task answered it stays, and the next push sets it).
    """
    report = RefreshReport()
    index = project_index(client, project.id)
    todo: list[tuple[int, PushItem]] = []
    for item in items:
        task = index.get(item.image_key)
        if task is None:
            report.missing += 1
        elif answered(task):
            report.skipped_annotated += 1
        elif item.prelabel is not None:
            rank = (task.get("data") or {}).get("rank")
            if item.rank is None and isinstance(rank, int):  # the order it was pushed in
                item = dataclasses.replace(item, rank=rank)
            todo.append((int(task["id"]), item))
    for start in range(0, len(todo), batch_size):
        batch = todo[start : start + batch_size]
        client.dm_action(project.id, "delete_tasks_predictions", [tid for tid, _ in batch])
        predictions = [
            {"task": tid, **prediction_for(item, project, model_version)} for tid, item in batch
        ]
        created = client.import_predictions(project.id, predictions)
        if created != len(predictions):
            raise LabelStudioError(
                f"Label Studio stored {created} of {len(predictions)} {model_version} predictions "
                f"for project {project.id} (its log says why); run the command again to retry"
            )
        report.replaced += len(batch)
    if report.replaced:  # no task carries it otherwise, and Label Studio would refuse it
        set_model_version(client, project.id, model_version)
    logger.info(
        "model %s: replaced pre-labels of %d tasks, kept %d annotated ones",
        model_version,
        report.replaced,
        report.skipped_annotated,
    )
    return report
