"""Incremental pull: record every annotation that changed since the last pull, once.

The cursor is a server timestamp. Each pull asks Label Studio for the tasks whose
``updated_at`` (bumped by every annotation create/update/delete) is later than the cursor
minus a small overlap, ordered by id so concurrent updates cannot shift pages. The new
cursor is the server's clock (``Date`` header) when the pull started, minus the overlap, so
an update that lands while a pull runs is fetched by the next one. Re-fetching is harmless:
the sink ignores versions it already has. An annotation or draft that holds what no real one
has (see :class:`~hitl_active.labelstudio.sink.InvalidRecordError`) is left out with a
warning naming it, and the pull goes on.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from typing import Any, Protocol, runtime_checkable

from tqdm.auto import tqdm

from hitl_active.labelstudio.client import LabelStudioClient
from hitl_active.labelstudio.project import ProjectInfo
from hitl_active.labelstudio.records import build_record, normalize_timestamp
from hitl_active.labelstudio.sink import AnnotationSink, InvalidRecordError

__all__ = ["DraftSink", "PullReport", "pull_annotations", "pull_drafts"]

logger = logging.getLogger(__name__)


@dataclass
class PullReport:
    tasks_seen: int = 0
    annotations_seen: int = 0
    recorded: int = 0  # new or changed
    skipped_tasks: int = 0  # cancelled annotations among the recorded
    deleted: int = 0
    drafts: int = 0  # drafts new or changed (read from open tasks)
    refused: int = 0  # annotations and drafts left out: they hold what no real one has
    cursor: str | None = None


@runtime_checkable
class DraftSink(Protocol):
    """A sink that also keeps drafts (the workspace's state store does)."""

    def open_task_ids(self, project_id: int) -> list[int]:
        """Tasks of the project with no recorded annotation or skip yet."""

    def record_draft(self, project_id: int, draft: dict[str, Any], annotator: str) -> bool:
        """Keep the draft's latest state; True when new or changed."""


def _tasks_with_drafts(client: LabelStudioClient, project_id: int, size: int = 1000) -> set[int]:
    """Ids of the project's tasks that hold a draft (anyone's), two columns a task."""
    out: set[int] = set()
    seen, page = 0, 1
    while True:
        params = {"project": project_id, "fields": "all", "include": "id,draft_exists",
                  "page": page, "page_size": size}  # fmt: skip
        body = client.request("GET", "/api/tasks", params=params)
        tasks = body.get("tasks") or []
        out |= {int(t["id"]) for t in tasks if t.get("draft_exists")}
        seen, page = seen + len(tasks), page + 1
        if not tasks or seen >= int(body.get("total") or 0):
            return out


def _refused(project: ProjectInfo, task_id: Any, exc: InvalidRecordError) -> None:
    logger.warning(
        "project %d, task %s: %s; not recorded: correct it in Label Studio", project.id,
        task_id, exc,
    )  # fmt: skip


def pull_drafts(
    client: LabelStudioClient,
    project: ProjectInfo,
    sink: DraftSink,
    users: Mapping[int, str] | None = None,
    report: PullReport | None = None,
) -> int:
    """Record the drafts of the project's open tasks. Label Studio deletes a draft when it is
    submitted, and saving one does not mark its task updated, so drafts are read here, on
    every pull, while they exist: one listing says which tasks hold one, then each of those
    that is still open is read. Returns how many drafts were new or changed; ``report``
    counts the drafts refused."""
    n = 0
    open_ids = sink.open_task_ids(project.id)
    if not open_ids:
        return 0
    with_drafts = _tasks_with_drafts(client, project.id)
    for task_id in (t for t in open_ids if t in with_drafts):
        for draft in client.request("GET", f"/api/tasks/{task_id}/drafts") or []:
            who = draft.get("user")  # Label Studio names the user by e-mail here
            if isinstance(who, int):
                who = (users or {}).get(who, f"user-{who}")
            try:
                n += sink.record_draft(project.id, draft, str(who or "unknown"))
            except InvalidRecordError as exc:
                _refused(project, task_id, exc)
                if report is not None:
                    report.refused += 1
    return n


def _server_now(client: LabelStudioClient) -> datetime:
    resp = client._send("GET", "/api/current-user/whoami")
    date = resp.headers.get("date")
    if date:
        return parsedate_to_datetime(date).astimezone(timezone.utc)
    return datetime.now(timezone.utc)


def pull_annotations(
    client: LabelStudioClient,
    project: ProjectInfo,
    sink: AnnotationSink,
    overlap_s: float = 2.0,
    page_size: int = 250,  # small pages: the first one is fetched alone, the rest in parallel
    progress: bool = False,
) -> PullReport:
    """Record annotations of tasks changed since the sink's cursor; returns counts."""
    report = PullReport()
    started = _server_now(client) - timedelta(seconds=overlap_s)
    cursor = sink.get_cursor(project.id)
    filters = None
    if cursor:
        since = datetime.fromisoformat(cursor) - timedelta(seconds=overlap_s)
        filters = {
            "conjunction": "and",
            "items": [
                {
                    "filter": "filter:tasks:updated_at",
                    "operator": "greater",
                    "type": "Datetime",
                    "value": since.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
                }
            ],
        }
    users = client.users()
    bar = tqdm(desc="pull annotations", unit="task", disable=not progress)
    for task in client.iter_tasks(
        project.id, filters=filters, ordering=["tasks:id"], page_size=page_size
    ):
        report.tasks_seen += 1
        bar.update(1)
        annotations = task.get("annotations") or []
        known = sink.annotation_ids(project.id, int(task["id"]))
        present = {int(a["id"]) for a in annotations}
        gone = sorted(known - present)
        if gone:
            report.deleted += sink.record_deletion(project.id, gone)
        for annotation in annotations:
            report.annotations_seen += 1
            try:
                record = build_record(
                    project, task, annotation, task.get("predictions") or [], users
                )
            except InvalidRecordError as exc:
                _refused(project, task.get("id"), exc)
                report.refused += 1
                continue
            if sink.record_annotation(record):
                report.recorded += 1
                report.skipped_tasks += int(record.was_cancelled)
    bar.close()
    if isinstance(sink, DraftSink):
        report.drafts = pull_drafts(client, project, sink, users, report)
    new_cursor = normalize_timestamp(started.isoformat())
    if cursor is None or new_cursor > cursor:
        sink.set_cursor(project.id, new_cursor)
    report.cursor = sink.get_cursor(project.id)
    changed = report.tasks_seen or report.recorded or report.deleted or report.refused
    logger.log(  # a poll that found nothing new is not news
        logging.INFO if changed else logging.DEBUG,
        "pulled project %d: %d tasks changed, %d annotations recorded, %d deleted, %d refused",
        project.id,
        report.tasks_seen,
        report.recorded,
        report.deleted,
        report.refused,
    )
    return report
