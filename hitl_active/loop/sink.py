"""The state store as Label Studio's :class:`~hitl_active.labelstudio.sink.AnnotationSink`.

Pull and webhook paths write Label Studio annotations straight into the loop's one state
database through these methods, so a record is stored before anything acts on it, exactly
once: an annotation is keyed ``"<project>:<annotation id>"`` with its content fingerprint
as revision. A changed annotation becomes a new current revision (the old one is kept as
history); the same content again, or an older version arriving late, is a no-op.

Each box gets its provenance from the diff against the pre-label the task showed:
``human_accepted`` (kept as predicted), ``human_corrected`` (moved or relabelled) or
``human`` (drawn by the annotator).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, unquote, urlparse

from hitl_active.loop.rows import boxes_with_provenance

if TYPE_CHECKING:
    from hitl_active.labelstudio.sink import AnnotationRecord

__all__ = ["LabelStudioSinkMixin", "image_key_name"]

logger = logging.getLogger(__name__)

SOURCE = "labelstudio"


def image_key_name(image_key: str) -> str:
    """The file name an image key points at (a path, or a Label Studio local-files URL)."""
    parsed = urlparse(image_key)
    d = parse_qs(parsed.query).get("d")
    return Path(unquote(d[0] if d else parsed.path or image_key)).name


def record_boxes(record: AnnotationRecord) -> list[dict[str, Any]]:
    """JSON boxes of a record with per-box provenance from its diff."""
    return boxes_with_provenance(record.labels, record.diff, record.model_version)


class LabelStudioSinkMixin:
    """Adds the ``AnnotationSink`` methods to :class:`hitl_active.loop.store.Store`."""

    #: ``(round_id, model_version)`` that tasks recorded by a push belong to.
    push_context: tuple[int | None, str | None] = (None, None)

    def _image_for_key(self, image_key: str) -> int | None:
        row = self.image_by_path(image_key)  # type: ignore[attr-defined]
        if row is not None:
            return row.id
        name = image_key_name(image_key)
        matches = [r.id for r in self.images() if Path(r.path).name == name]  # type: ignore[attr-defined]
        return matches[0] if len(matches) == 1 else None

    def task_for_image(self, project_id: int, image_key: str) -> int | None:  # type: ignore[override]
        row = self._one(  # type: ignore[attr-defined]
            "SELECT ls_task_id FROM tasks WHERE project_id = ? AND image_key = ?",
            (project_id, image_key),
        )
        if row is not None and row[0] is not None:
            return int(row[0])
        image_id = self._image_for_key(image_key)
        task = None if image_id is None else self.task_of_image(image_id)  # type: ignore[attr-defined]
        if task is not None and task.project_id == project_id:
            return task.ls_task_id
        return None

    def last_task_id(self, project_id: int) -> int | None:
        row = self._one(  # type: ignore[attr-defined]
            "SELECT MAX(ls_task_id) FROM tasks WHERE project_id = ?", (project_id,)
        )
        return None if row is None or row[0] is None else int(row[0])

    def record_task(self, project_id: int, image_key: str, task_id: int) -> None:
        image_id = self._image_for_key(image_key)
        if image_id is None:
            raise KeyError(
                f"pushed task {task_id} names image {image_key!r}, which is not in the "
                "workspace's pool; push images registered with hitl-active init"
            )
        round_id, version = self.push_context
        self.add_task(image_id, round_id, task_id, project_id, version, image_key=image_key)  # type: ignore[attr-defined]

    def record_annotation(self, record: AnnotationRecord) -> bool:
        task = self.task_by_ls_id(record.task_id)  # type: ignore[attr-defined]
        image_id = task.image_id if task is not None else self._image_for_key(record.image)
        if image_id is None:
            logger.warning(
                "annotation %d of task %d: image %r is not in this workspace; skipped",
                record.annotation_id, record.task_id, record.image,
            )  # fmt: skip
            return False
        external_id = f"{record.project_id}:{record.annotation_id}"
        latest = self._one(  # type: ignore[attr-defined]
            "SELECT updated_at FROM annotations WHERE source = ? AND external_id = ? "
            "ORDER BY id DESC LIMIT 1",
            (SOURCE, external_id),
        )
        if latest is not None and latest[0] and record.updated_at and latest[0] > record.updated_at:
            return False  # an older version arriving late
        return self.add_annotation(  # type: ignore[attr-defined]
            image_id,
            external_id,
            record.fingerprint(),
            record_boxes(record),
            source=SOURCE,
            ls_task_id=record.task_id,
            annotator=record.annotator,
            lead_time=record.lead_time,
            cancelled=record.was_cancelled,
            diff=None if record.diff is None else record.diff.to_dict(),
            updated_at=record.updated_at,
        )

    def record_deletion(self, project_id: int, annotation_ids: list[int]) -> int:
        keys = [(SOURCE, f"{project_id}:{int(a)}") for a in annotation_ids]
        with self.transaction() as c:  # type: ignore[attr-defined]
            n = 0
            images: set[int] = set()
            for key in keys:
                images.update(
                    int(r[0])
                    for r in c.execute(
                        "SELECT DISTINCT image_id FROM annotations "
                        "WHERE source = ? AND external_id = ? AND deleted = 0",
                        key,
                    )
                )
                cur = c.execute(
                    "UPDATE annotations SET deleted = 1, is_current = 0 "
                    "WHERE source = ? AND external_id = ? AND deleted = 0",
                    key,
                )
                n += int(cur.rowcount > 0)
            for image_id in images:  # another surviving annotation becomes the current one
                c.execute(
                    "UPDATE annotations SET is_current = 1 WHERE id = (SELECT MAX(id) FROM "
                    "annotations WHERE image_id = ? AND deleted = 0 AND cancelled = 0) "
                    "AND NOT EXISTS (SELECT 1 FROM annotations WHERE image_id = ? "
                    "AND is_current = 1)",
                    (image_id, image_id),
                )
        return n

    def annotation_ids(self, project_id: int, task_id: int) -> set[int]:
        rows = self._all(  # type: ignore[attr-defined]
            "SELECT DISTINCT external_id FROM annotations WHERE source = ? AND ls_task_id = ? "
            "AND deleted = 0",
            (SOURCE, task_id),
        )
        prefix = f"{project_id}:"
        return {int(r[0][len(prefix) :]) for r in rows if r[0].startswith(prefix)}

    def get_cursor(self, project_id: int) -> str | None:
        return self.get(f"labelstudio.cursor.{project_id}")  # type: ignore[attr-defined]

    def set_cursor(self, project_id: int, cursor: str) -> None:
        self.set(f"labelstudio.cursor.{project_id}", cursor)  # type: ignore[attr-defined]
