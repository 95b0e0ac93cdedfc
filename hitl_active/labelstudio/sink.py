"""Where annotations from Label Studio are recorded, exactly once.

:class:`AnnotationSink` is the protocol the pull and webhook paths write to; the loop's
state store implements it, and :class:`SQLiteSink` is a small standalone implementation
(one file, or ``":memory:"``). Idempotency rules every implementation follows:

* an annotation is keyed by its Label Studio id; recording the same version twice is a
  no-op (returns ``False``), a newer version replaces the older one (returns ``True``);
  a record without a diff (bulk webhook events skip it) is completed by a later pull;
* a skipped/cancelled task is an :class:`AnnotationRecord` with ``was_cancelled=True``;
* a deleted annotation is removed (``record_deletion``);
* pushed tasks are remembered per image key, so a push never creates a duplicate task.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from hitl_active.formats.core import ImageLabels
from hitl_active.labelstudio.diff import BoxDiff

__all__ = ["AnnotationRecord", "AnnotationSink", "SQLiteSink"]


@dataclass
class AnnotationRecord:
    """One annotation (or skip) of one task, as recorded from Label Studio."""

    project_id: int
    task_id: int
    annotation_id: int
    image: str
    labels: ImageLabels
    annotator: str
    lead_time: float | None
    was_cancelled: bool
    updated_at: str
    diff: BoxDiff | None = None
    model_version: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    created_at: str | None = None  # first submitted (working time, not content)
    draft_created_at: str | None = None  # the draft it was made from started then

    def fingerprint(self) -> str:
        """Hash of what the annotator produced; equal fingerprints mean the same version."""
        payload = {
            "boxes": [[round(float(v), 3) for v in box] for box in self.labels.xyxy],
            "classes": [int(c) for c in self.labels.class_id],
            "cancelled": self.was_cancelled,
        }
        return hashlib.sha1(json.dumps(payload, sort_keys=True).encode()).hexdigest()


@runtime_checkable
class AnnotationSink(Protocol):
    """What the Label Studio integration needs from a state store."""

    def record_annotation(self, record: AnnotationRecord) -> bool:
        """Store or replace; ``True`` when new or changed, ``False`` when already known."""

    def record_deletion(self, project_id: int, annotation_ids: list[int]) -> int:
        """Forget deleted annotations; returns how many were known."""

    def annotation_ids(self, project_id: int, task_id: int) -> set[int]:
        """Annotation ids recorded for one task (to notice deletions while pulling)."""

    def get_cursor(self, project_id: int) -> str | None:
        """Where the last incremental pull stopped (an ISO timestamp), or ``None``."""

    def set_cursor(self, project_id: int, cursor: str) -> None: ...

    def task_for_image(self, project_id: int, image_key: str) -> int | None:
        """The task already made for this image, if any."""

    def record_task(self, project_id: int, image_key: str, task_id: int) -> None: ...

    def last_task_id(self, project_id: int) -> int | None:
        """The highest task id recorded for the project, or ``None`` when there is none.

        Label Studio numbers tasks in creation order and a push records each batch right
        after importing it, so only tasks above this id can exist unrecorded (a crash
        between an import and its recording).
        """


_SCHEMA = """
CREATE TABLE IF NOT EXISTS ls_tasks (
    project_id INTEGER NOT NULL, image_key TEXT NOT NULL, task_id INTEGER NOT NULL,
    PRIMARY KEY (project_id, image_key));
CREATE TABLE IF NOT EXISTS ls_annotations (
    project_id INTEGER NOT NULL, annotation_id INTEGER NOT NULL, task_id INTEGER NOT NULL,
    image TEXT NOT NULL, updated_at TEXT NOT NULL, fingerprint TEXT NOT NULL,
    was_cancelled INTEGER NOT NULL, record TEXT NOT NULL,
    PRIMARY KEY (project_id, annotation_id));
CREATE INDEX IF NOT EXISTS ls_annotations_task ON ls_annotations (project_id, task_id);
CREATE TABLE IF NOT EXISTS ls_cursors (project_id INTEGER PRIMARY KEY, cursor TEXT NOT NULL);
"""


def record_to_json(record: AnnotationRecord) -> str:
    """A JSON form of a record (boxes in pixels) for storage and reports."""
    labels = record.labels
    return json.dumps(
        {
            "project_id": record.project_id,
            "task_id": record.task_id,
            "annotation_id": record.annotation_id,
            "image": record.image,
            "width": labels.width,
            "height": labels.height,
            "xyxy": labels.xyxy.tolist(),
            "class_id": labels.class_id.tolist(),
            "annotator": record.annotator,
            "lead_time": record.lead_time,
            "was_cancelled": record.was_cancelled,
            "updated_at": record.updated_at,
            "model_version": record.model_version,
            "diff": record.diff.to_dict() if record.diff else None,
            "extra": record.extra,
        }
    )


class SQLiteSink:
    """A minimal :class:`AnnotationSink` in one SQLite file (thread-safe, WAL)."""

    def __init__(self, path: str | Path = ":memory:") -> None:
        self.path = str(path)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        if self.path != ":memory:":
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")  # WAL: durable across app crashes
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        self._db.close()

    def record_annotation(self, record: AnnotationRecord) -> bool:
        fp = record.fingerprint()
        with self._lock:
            row = self._db.execute(
                "SELECT updated_at, fingerprint, json_extract(record, '$.diff') IS NULL "
                "FROM ls_annotations WHERE project_id=? AND annotation_id=?",
                (record.project_id, record.annotation_id),
            ).fetchone()
            # A record with a diff may complete the same version stored without one (bulk
            # webhook events carry no diff); it never replaces a different version.
            fills_diff = (
                row is not None and row[1] == fp and bool(row[2]) and record.diff is not None
            )
            if row is not None and (row[1] == fp or row[0] > record.updated_at) and not fills_diff:
                return False  # same version again, or an older one arriving late
            self._db.execute(
                "INSERT OR REPLACE INTO ls_annotations VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    record.project_id,
                    record.annotation_id,
                    record.task_id,
                    record.image,
                    record.updated_at,
                    fp,
                    int(record.was_cancelled),
                    record_to_json(record),
                ),
            )
            return True

    def record_deletion(self, project_id: int, annotation_ids: list[int]) -> int:
        with self._lock:
            cur = self._db.executemany(
                "DELETE FROM ls_annotations WHERE project_id=? AND annotation_id=?",
                [(project_id, int(a)) for a in annotation_ids],
            )
            return max(cur.rowcount, 0)

    def annotation_ids(self, project_id: int, task_id: int) -> set[int]:
        with self._lock:
            rows = self._db.execute(
                "SELECT annotation_id FROM ls_annotations WHERE project_id=? AND task_id=?",
                (project_id, task_id),
            ).fetchall()
        return {int(r[0]) for r in rows}

    def get_cursor(self, project_id: int) -> str | None:
        with self._lock:
            row = self._db.execute(
                "SELECT cursor FROM ls_cursors WHERE project_id=?", (project_id,)
            ).fetchone()
        return row[0] if row else None

    def set_cursor(self, project_id: int, cursor: str) -> None:
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO ls_cursors VALUES (?, ?)", (project_id, cursor)
            )

    def task_for_image(self, project_id: int, image_key: str) -> int | None:
        with self._lock:
            row = self._db.execute(
                "SELECT task_id FROM ls_tasks WHERE project_id=? AND image_key=?",
                (project_id, image_key),
            ).fetchone()
        return int(row[0]) if row else None

    def record_task(self, project_id: int, image_key: str, task_id: int) -> None:
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO ls_tasks VALUES (?, ?, ?)", (project_id, image_key, task_id)
            )

    def last_task_id(self, project_id: int) -> int | None:
        with self._lock:
            row = self._db.execute(
                "SELECT MAX(task_id) FROM ls_tasks WHERE project_id=?", (project_id,)
            ).fetchone()
        return None if row is None or row[0] is None else int(row[0])

    def records(self, project_id: int) -> list[dict[str, Any]]:
        """Every recorded annotation of a project as dicts (see :func:`record_to_json`)."""
        with self._lock:
            rows = self._db.execute(
                "SELECT record FROM ls_annotations WHERE project_id=? ORDER BY annotation_id",
                (project_id,),
            ).fetchall()
        return [json.loads(r[0]) for r in rows]
