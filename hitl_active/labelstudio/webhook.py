"""Label Studio webhook events → the annotation sink (the push side of annotation intake).

Handled: ``ANNOTATION_CREATED``, ``ANNOTATIONS_CREATED``, ``ANNOTATION_UPDATED`` (record or
replace) and ``ANNOTATIONS_DELETED`` (forget). Every other event is acknowledged and
ignored. Recording is idempotent (see :mod:`hitl_active.labelstudio.sink`), so a
redelivered event or a later pull never records an annotation twice. Nothing slow happens
here: no training, at most one small request back to Label Studio per annotation (the
prediction it started from, for the diff). An event holding an annotation no real one has
(see :class:`~hitl_active.labelstudio.sink.InvalidRecordError`) is refused whole: nothing of
it is recorded. Receiving (the shared secret in :data:`SECRET_HEADER`, body limits) is the
HTTP server's job: :mod:`hitl_active.server`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from hitl_active.labelstudio.client import LabelStudioClient, LabelStudioError
from hitl_active.labelstudio.project import ProjectInfo, check_labels, parse_label_config
from hitl_active.labelstudio.records import build_record
from hitl_active.labelstudio.sink import AnnotationSink, check_id

__all__ = [
    "SECRET_HEADER",
    "WebhookResult",
    "handle_event",
    "register_webhook",
]

logger = logging.getLogger(__name__)

SECRET_HEADER = "X-Hitl-Secret"
ANNOTATION_EVENTS = ("ANNOTATION_CREATED", "ANNOTATIONS_CREATED", "ANNOTATION_UPDATED")
DELETE_EVENTS = ("ANNOTATIONS_DELETED",)
# Label Studio waits for the receiver; a bulk event (an import) skips the per-task prediction
# look-ups for the diff, which the next pull then fills in.
MAX_LOOKUPS = 20


@dataclass
class WebhookResult:
    action: str
    handled: bool
    recorded: int = 0
    deleted: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "handled": self.handled,
            "recorded": self.recorded,
            "deleted": self.deleted,
        }


def _project(payload: Mapping[str, Any], class_names: Sequence[str] | None) -> ProjectInfo:
    project = payload.get("project") or {}
    if not isinstance(project, Mapping) or "id" not in project:
        raise ValueError(
            "webhook payload has no project; register the webhook with send_payload=true"
        )
    from_name, to_name, value_key, labels = parse_label_config(project.get("label_config", ""))
    if class_names is not None:
        check_labels(labels, class_names)
    names = tuple(class_names) if class_names is not None else tuple(labels)
    project_id = check_id("project id", project["id"])
    title = str(project.get("title", ""))
    return ProjectInfo(project_id, title, names, from_name, to_name, value_key)


def _predictions(client: LabelStudioClient | None, task_id: int) -> list[dict[str, Any]]:
    if client is None:
        return []
    try:
        return list(client.request("GET", "/api/predictions", params={"task": task_id}) or [])
    except LabelStudioError as exc:  # the diff is optional; the annotation is not
        logger.warning("no predictions for task %d (diff skipped): %s", task_id, exc)
        return []


def handle_event(
    payload: Mapping[str, Any],
    sink: AnnotationSink,
    class_names: Sequence[str] | None = None,
    client: LabelStudioClient | None = None,
    users: Mapping[int, str] | None = None,
) -> WebhookResult:
    """Record what one webhook delivery says; unknown events are acknowledged only.

    Raises:
        InvalidRecordError: an annotation holds what no real one has (nothing is recorded).
    """
    action = str(payload.get("action", ""))
    if action in DELETE_EVENTS:
        project = payload.get("project") or {}
        ids = [check_id("annotation id", a["id"]) for a in payload.get("annotations") or []
               if "id" in a]  # fmt: skip
        if not ids or "id" not in project:
            return WebhookResult(action, handled=True)
        deleted = sink.record_deletion(check_id("project id", project["id"]), ids)
        return WebhookResult(action, handled=True, deleted=deleted)
    if action not in ANNOTATION_EVENTS:
        return WebhookResult(action, handled=False)
    project = _project(payload, class_names)
    annotations = payload.get("annotation")
    tasks = payload.get("task")
    annotations = annotations if isinstance(annotations, list) else [annotations]
    tasks = tasks if isinstance(tasks, list) else [tasks]
    by_id = {check_id("task id", t["id"]): t for t in tasks if isinstance(t, Mapping) and "id" in t}
    records = []
    for annotation in annotations:
        if not isinstance(annotation, Mapping):
            continue
        task_id = check_id("task id", annotation.get("task") or 0)
        task = by_id.get(task_id, {"id": task_id})
        predictions = task.get("predictions") or (
            _predictions(client, task_id) if len(annotations) <= MAX_LOOKUPS else []
        )
        records.append(build_record(project, task, annotation, predictions, users))
    recorded = sum(int(sink.record_annotation(record)) for record in records)
    return WebhookResult(action, handled=True, recorded=recorded)


def register_webhook(client: LabelStudioClient, project_id: int, url: str, secret: str) -> int:
    """Point the project's annotation events at ``url`` (reused when already there).

    A reused webhook is sent its whole setting again: Label Studio's PATCH empties the
    list of actions it is not given, which would silence the webhook without an error.
    """
    body = {
        "send_payload": True,
        "send_for_all_actions": False,
        "headers": {SECRET_HEADER: secret},
        "is_active": True,
        "actions": [*ANNOTATION_EVENTS, *DELETE_EVENTS],
    }
    for hook in client.request("GET", "/api/webhooks", params={"project": project_id}) or []:
        if hook.get("url") == url and hook.get("project") == project_id:
            client.request("PATCH", f"/api/webhooks/{hook['id']}", json=body)
            return int(hook["id"])
    created = client.request(
        "POST", "/api/webhooks", json={"project": project_id, "url": url, **body}
    )
    return int(created["id"])
