"""Turn a Label Studio annotation (from a pull or a webhook) into an :class:`AnnotationRecord`.

Both paths build records with this one function, so the same annotation always yields the
same record and the sink can tell "already recorded" from "changed".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from typing import Any

from hitl_active.formats.core import ImageLabels
from hitl_active.formats.labelstudio import from_ls_results
from hitl_active.labelstudio.diff import diff_boxes
from hitl_active.labelstudio.project import ProjectInfo
from hitl_active.labelstudio.sink import AnnotationRecord, InvalidRecordError, check_id

__all__ = ["build_record", "normalize_timestamp", "pick_prediction"]


def normalize_timestamp(value: str | None) -> str:
    """ISO-8601 in UTC with microseconds, whatever form Label Studio sent."""
    if not value:
        return datetime.now(timezone.utc).isoformat(timespec="microseconds")
    parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.astimezone(timezone.utc).isoformat(timespec="microseconds")


def _when(value: str | None) -> str | None:
    return normalize_timestamp(value) if value else None


def pick_prediction(
    annotation: Mapping[str, Any], predictions: Sequence[Mapping[str, Any]]
) -> Mapping[str, Any] | None:
    """The prediction an annotation started from (its ``parent_prediction``), else the newest."""
    if not predictions:
        return None
    parent = annotation.get("parent_prediction")
    for prediction in predictions:
        if parent is not None and prediction.get("id") == parent:
            return prediction
    return max(predictions, key=lambda p: (str(p.get("created_at") or ""), p.get("id") or 0))


def _user(annotation: Mapping[str, Any], users: Mapping[int, str]) -> str:
    who = annotation.get("completed_by")
    if isinstance(who, Mapping):  # some serializers expand the user
        return str(who.get("email") or who.get("username") or who.get("id"))
    if who is None:
        return "unknown"
    return users.get(int(who), f"user-{int(who)}")


def build_record(
    project: ProjectInfo,
    task: Mapping[str, Any],
    annotation: Mapping[str, Any],
    predictions: Sequence[Mapping[str, Any]] = (),
    users: Mapping[int, str] | None = None,
) -> AnnotationRecord:
    """One record: boxes in pixels, annotator, lead time, skip flag, diff vs pre-label.

    Raises:
        InvalidRecordError: the annotation holds what no real one has (an id out of the 64-bit
            range, a number no float holds, a time outside the sane window; see
            :class:`~hitl_active.labelstudio.sink.AnnotationRecord`).
    """
    name = f"annotation {str(annotation.get('id'))[:32]}"
    who = annotation.get("completed_by")
    try:
        if who is not None and not isinstance(who, Mapping):
            check_id(f"{name}: completed_by", who)
        return _build(project, task, annotation, predictions, users)
    except OverflowError as exc:  # a lead_time of 400 digits, an id of 1e400
        raise InvalidRecordError(
            f"{name}: a number is out of range ({exc}); id, task, completed_by and "
            "lead_time must be numbers a float or a 64-bit id holds"
        ) from None


def _positive(value: Any) -> bool:
    """A task's width or height as the push wrote it: a positive whole number."""
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _build(
    project: ProjectInfo,
    task: Mapping[str, Any],
    annotation: Mapping[str, Any],
    predictions: Sequence[Mapping[str, Any]],
    users: Mapping[int, str] | None,
) -> AnnotationRecord:
    data = task.get("data") or {}
    image = str(data.get("image_key") or data.get(project.value_key) or task.get("id"))
    width, height = data.get("width"), data.get("height")
    # The original's size, as the push wrote it: the task may have shown a smaller copy.
    size = (int(width), int(height)) if _positive(width) and _positive(height) else None
    cancelled = bool(annotation.get("was_cancelled"))
    results = annotation.get("result") or []
    try:
        labels = from_ls_results(
            results, project.class_names, image, width, height, from_name=project.from_name,
            size=size,
        )  # fmt: skip
    except ValueError:
        if not results and not (width and height):
            labels = ImageLabels(image=image, width=1, height=1)  # empty and size unknown
        else:
            raise
    diff, model_version = None, None
    prediction = pick_prediction(annotation, predictions)
    if prediction is not None and not cancelled:
        model_version = prediction.get("model_version")
        pre = from_ls_results(
            prediction.get("result") or [],
            project.class_names,
            image,
            labels.width,
            labels.height,
            from_name=project.from_name,
            size=size,
        )
        diff = diff_boxes(pre, labels)
    return AnnotationRecord(
        project_id=project.id,
        task_id=int(task.get("id") or annotation["task"]),
        annotation_id=int(annotation["id"]),
        image=image,
        labels=labels,
        annotator=_user(annotation, users or {}),
        lead_time=None if annotation.get("lead_time") is None else float(annotation["lead_time"]),
        was_cancelled=cancelled,
        updated_at=normalize_timestamp(
            annotation.get("updated_at") or annotation.get("created_at")
        ),
        diff=diff,
        model_version=model_version,
        created_at=_when(annotation.get("created_at")),
        draft_created_at=_when(annotation.get("draft_created_at")),
    )
