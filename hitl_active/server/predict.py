"""``/predict``: Label Studio tasks in, one prediction per task out, in bounded steps.

A call holds at most ``max_tasks`` tasks. They are read and inferred a few at a time
(:data:`CHUNK`), taking the inference lock per chunk, so a one-task request waits for one
chunk of a large one, not for all of it, and only one chunk's images are in memory.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Any

import numpy as np

from hitl_active.detections import Detections
from hitl_active.formats.labelstudio import to_ls_results
from hitl_active.labelstudio.media import TaskImage, TaskImageError, fetch_task_image
from hitl_active.labelstudio.project import LabelMismatchError, check_labels, parse_label_config
from hitl_active.labelstudio.push import prediction_score
from hitl_active.sampling.uncertainty import image_uncertainty
from hitl_active.server.state import ServerState

__all__ = ["CHUNK", "RequestError", "check_schema", "parse_tasks", "predict_tasks"]

logger = logging.getLogger(__name__)

CHUNK = 4


class RequestError(Exception):
    """A request the server cannot act on: an HTTP status and a one-line reason."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


def check_schema(schema: Any, class_names: list[str]) -> tuple[str, str, str, list[str]]:
    """``(from_name, to_name, value_key, labels)``; 400 when the labels are not the classes."""
    if not isinstance(schema, str):
        raise RequestError(422, "'label_config' must be the project's labeling config (XML)")
    try:
        parsed = parse_label_config(schema)
        if class_names:
            check_labels(parsed[3], class_names)
    except LabelMismatchError as exc:
        raise RequestError(400, str(exc)) from exc
    return parsed


def _name(task: dict[str, Any], index: int) -> str:
    task_id = task.get("id")
    return str(task_id) if isinstance(task_id, int) else f"#{index}"


def parse_tasks(body: dict[str, Any], max_tasks: int) -> list[dict[str, Any]]:
    """The request's tasks, each an object with a ``data`` object; 422 otherwise."""
    tasks = body.get("tasks")
    if not isinstance(tasks, list):
        raise RequestError(422, "request needs 'tasks': a list of Label Studio tasks")
    if len(tasks) > max_tasks:
        raise RequestError(
            422,
            f"{len(tasks)} tasks in one call; the limit is {max_tasks} (HITL_MAX_TASKS): "
            "send them in smaller calls",
        )
    for index, task in enumerate(tasks):
        if not isinstance(task, dict) or not isinstance(task.get("data"), dict):
            raise RequestError(
                422, f"task #{index} is malformed: each task must be an object with a 'data' object"
            )
    return tasks


def predict_tasks(
    state: ServerState, engine: Any, tasks: list[dict[str, Any]], label_config: Any
) -> list[dict[str, Any]]:
    """Label Studio predictions (``result``, ``score``, ``model_version``) for ``tasks``."""
    s = state.settings
    from_name, to_name, value_key, _ = check_schema(label_config or "", state.class_names() or [])
    urls = []
    for index, task in enumerate(tasks):
        url = task["data"].get(value_key)
        if not isinstance(url, str) or not url:
            raise RequestError(
                422, f"task {_name(task, index)}: data has no {value_key!r} image URL"
            )
        urls.append(url)
    names = list(engine.class_names)
    version = str(getattr(engine, "model_version", None) or state.model_version)
    imgsz = getattr(engine, "imgsz", None)  # (H, W) the model sees; None: decode whole
    max_side = 2 * max(imgsz) if imgsz else None
    threshold = state.conf_threshold()
    results = []
    for start in range(0, len(tasks), CHUNK):
        images = []
        for index in range(start, min(start + CHUNK, len(tasks))):
            try:
                images.append(
                    fetch_task_image(
                        urls[index],
                        s.files_root,
                        s.label_studio_url,
                        s.label_studio_token,
                        state.http,
                        s.max_image_bytes,
                        max_side=max_side,
                        budget=state.decode_budget,
                    )
                )
            except TaskImageError as exc:
                logger.debug("task %s: %s", _name(tasks[index], index), exc.detail)
                raise RequestError(422, f"task {_name(tasks[index], index)}: {exc}") from exc
        with state.inference_lock:
            detections = engine.predict([image.pixels for image in images])
        for image, det in zip(images, detections, strict=True):
            shown = _on_original(det.above(threshold), image)
            w, h = image.size
            results.append(
                {
                    "result": to_ls_results(shown, names, from_name, to_name, width=w, height=h),
                    "score": prediction_score(image_uncertainty(det.class_probs)),
                    "model_version": version,
                }
            )
    return results


def _on_original(det: Detections, image: TaskImage) -> Detections:
    """Boxes found on pixels decoded smaller, placed on the original picture."""
    h, w = image.pixels.shape[:2]
    if (w, h) == image.size:
        return det
    sx, sy = image.size[0] / w, image.size[1] / h
    xyxy = (det.xyxy * np.array([sx, sy, sx, sy])).astype(det.xyxy.dtype)
    return dataclasses.replace(det, xyxy=xyxy, image_size=image.size)
