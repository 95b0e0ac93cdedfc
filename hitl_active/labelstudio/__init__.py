"""Label Studio integration: project set-up, task push, annotation pull and webhooks.

Talks to a real Label Studio server over its REST API (see :mod:`.client`); the server
itself is started by ``scripts/label-studio`` (or ``hitl-active label-studio start``).
"""

from hitl_active.labelstudio.client import (
    LabelStudioAuthError,
    LabelStudioClient,
    LabelStudioError,
    LabelStudioUnavailable,
)
from hitl_active.labelstudio.diff import BoxDiff, diff_boxes
from hitl_active.labelstudio.project import (
    LabelMismatchError,
    ProjectInfo,
    check_labels,
    connect_local_files,
    ensure_project,
    image_url,
    label_config,
)
from hitl_active.labelstudio.pull import PullReport, pull_annotations
from hitl_active.labelstudio.push import (
    PushItem,
    PushReport,
    RefreshReport,
    push_tasks,
    refresh_predictions,
)
from hitl_active.labelstudio.sink import AnnotationRecord, AnnotationSink
from hitl_active.labelstudio.webhook import SECRET_HEADER, handle_event, register_webhook

__all__ = [
    "SECRET_HEADER",
    "AnnotationRecord",
    "AnnotationSink",
    "BoxDiff",
    "LabelMismatchError",
    "LabelStudioAuthError",
    "LabelStudioClient",
    "LabelStudioError",
    "LabelStudioUnavailable",
    "ProjectInfo",
    "PullReport",
    "PushItem",
    "PushReport",
    "RefreshReport",
    "check_labels",
    "connect_local_files",
    "diff_boxes",
    "ensure_project",
    "handle_event",
    "image_url",
    "label_config",
    "pull_annotations",
    "push_tasks",
    "refresh_predictions",
    "register_webhook",
]
