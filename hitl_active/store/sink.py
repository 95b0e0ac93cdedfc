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
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlparse

import sqlalchemy as sa

from hitl_active.labelstudio.records import normalize_timestamp
from hitl_active.labelstudio.sink import (
    AnnotationRecord,
    InvalidRecordError,
    check_id,
    check_work,
)
from hitl_active.store import schema as t
from hitl_active.store.rows import AnnotationRow, _annotation, boxes_with_provenance

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
    """Adds the ``AnnotationSink`` methods to :class:`hitl_active.store.store.Store`."""

    #: ``(round_id, model_version)`` that tasks recorded by a push belong to.
    push_context: tuple[int | None, str | None] = (None, None)
    #: A store without a pool (``Store.standalone``: ``serve`` or ``pull`` without a
    #: workspace) registers each image as Label Studio names it; a workspace's store records
    #: work on its own pool's images only.
    adopts_images: bool = False

    def _learn_size(self, image_id: int, width: int, height: int) -> None:
        """Set an adopted image's size where it is still unknown (0 x 0)."""
        i = t.images
        with self.transaction() as c:  # type: ignore[attr-defined]
            c.execute(
                sa.update(i)
                .where(i.c.id == int(image_id), i.c.width == 0)
                .values(width=int(width), height=int(height))
            )

    def _adopt(self, image_key: str, width: int = 0, height: int = 0) -> int | None:
        """The image ``image_key`` names, registered first when this store adopts images."""
        image_id = self.image_for_key(image_key)
        if image_id is None and self.adopts_images:
            self.add_images([(image_key, width, height, None, "pool")])  # type: ignore[attr-defined]
            row = self.image_by_path(image_key)  # type: ignore[attr-defined]
            image_id = None if row is None else row.id
        return image_id

    def image_for_key(self, image_key: str) -> int | None:
        """The image a task's ``image_key`` names: its path relative to the pool folder
        (what pushes send, so annotators never see the server's paths), an absolute path
        (what earlier pushes sent), or a file name unique in the pool."""
        row = self.image_by_path(image_key)  # type: ignore[attr-defined]
        root = getattr(self, "images_root", None)
        if row is None and root is not None and not Path(image_key).is_absolute():
            row = self.image_by_path(str(Path(root) / image_key))  # type: ignore[attr-defined]
        if row is not None:
            return row.id
        name = image_key_name(image_key)
        matches = [r.id for r in self.images() if Path(r.path).name == name]  # type: ignore[attr-defined]
        return matches[0] if len(matches) == 1 else None

    def task_for_image(self, project_id: int, image_key: str) -> int | None:  # type: ignore[override]
        tk = t.tasks
        row = self._one(  # type: ignore[attr-defined]
            sa.select(tk.c.ls_task_id).where(
                tk.c.project_id == project_id, tk.c.image_key == image_key
            )
        )
        if row is not None and row[0] is not None:
            return int(row[0])
        image_id = self.image_for_key(image_key)
        task = None if image_id is None else self.task_of_image(image_id)  # type: ignore[attr-defined]
        if task is not None and task.project_id == project_id:
            return task.ls_task_id
        return None

    def last_task_id(self, project_id: int) -> int | None:
        tk = t.tasks
        row = self._one(  # type: ignore[attr-defined]
            sa.select(sa.func.max(tk.c.ls_task_id)).where(tk.c.project_id == project_id)
        )
        return None if row is None or row[0] is None else int(row[0])

    def record_task(self, project_id: int, image_key: str, task_id: int) -> None:
        image_id = self._adopt(image_key)
        if image_id is None:
            raise KeyError(
                f"pushed task {task_id} names image {image_key!r}, which is not in the "
                "workspace's pool; push images registered with hitl-active init"
            )
        round_id, version = self.push_context
        self.add_task(image_id, round_id, task_id, project_id, version, image_key=image_key)  # type: ignore[attr-defined]

    def _is_practice(self, project_id: int) -> bool:
        """Whether ``project_id`` is a trainee's practice project. Asked only of tasks the
        workspace never pushed (practice tasks are kept apart, in practice_attempts), so a
        pull of client work reads no annotator rows."""
        a = t.annotators
        hit = self._one(sa.select(a.c.id).where(a.c.practice_project_id == project_id).limit(1))  # type: ignore[attr-defined]
        return hit is not None

    def record_annotation(self, record: AnnotationRecord) -> bool:
        task = self.task_by_ls_id(record.task_id)  # type: ignore[attr-defined]
        if task is None and self._is_practice(record.project_id):
            logger.info(
                "annotation %d of task %d is practice (project %d): the training track grades "
                "it from Label Studio; it is never recorded as an annotation nor trained on",
                record.annotation_id, record.task_id, record.project_id,
            )  # fmt: skip
            return False
        if task is not None:
            image_id: int | None = task.image_id
            if self.adopts_images and self.image(task.image_id).width == 0:  # type: ignore[attr-defined]
                # a push named the image before its size was known: the answer knows it
                self._learn_size(task.image_id, record.labels.width, record.labels.height)
        else:
            image_id = self._adopt(record.image, record.labels.width, record.labels.height)
        if image_id is None:
            logger.warning(
                "annotation %d of task %d: image %r is not in this workspace; skipped",
                record.annotation_id, record.task_id, record.image,
            )  # fmt: skip
            return False
        if record.annotator and record.annotator != "unknown":  # a record as they first appear
            self.annotator_for_user(record.annotator)  # type: ignore[attr-defined]
        external_id = f"{record.project_id}:{record.annotation_id}"
        a = t.annotations
        latest = self._one(  # type: ignore[attr-defined]
            sa.select(a.c.updated_at, a.c.revision, a.c.lead_time)
            .where(a.c.source == SOURCE, a.c.external_id == external_id)
            .order_by(a.c.id.desc())
            .limit(1)
        )
        if latest is not None and latest[0] and record.updated_at and latest[0] > record.updated_at:
            return False  # an older version arriving late
        revision = record.fingerprint()
        if (
            latest is not None
            and latest[1].split("/")[0] == revision
            and record.lead_time != latest[2]
            and (latest[0] or "") < record.updated_at
        ):  # reopened and saved unchanged: the same boxes, more working time
            revision = f"{revision}/{record.updated_at}"
        return self.add_annotation(  # type: ignore[attr-defined]
            image_id,
            external_id,
            revision,
            record_boxes(record),
            source=SOURCE,
            ls_task_id=record.task_id,
            annotator=record.annotator,
            lead_time=record.lead_time,
            cancelled=record.was_cancelled,
            diff=None if record.diff is None else record.diff.to_dict(),
            updated_at=record.updated_at,
            created_at=record.created_at,
            draft_created_at=record.draft_created_at,
        )

    def record_draft(self, project_id: int, draft: dict[str, Any], annotator: str) -> bool:
        """Keep the latest state of a Label Studio draft (as ``GET /api/tasks/{id}/drafts``
        returns it); True when it was new or changed.

        Raises:
            InvalidRecordError: the draft holds what no real one has (see
                :func:`~hitl_active.labelstudio.sink.check_work`); nothing is stored.
        """
        d = t.drafts
        try:
            check_id("draft id", draft["id"])
            check_id("task", draft["task"])
            times = {"updated_at": draft["updated_at"], "created_at": draft.get("created_at")}
            check_work(draft.get("lead_time"), times)
        except (InvalidRecordError, TypeError) as exc:  # TypeError: a lead_time not a number
            raise InvalidRecordError(f"draft {draft.get('id')!r:.32}: {exc}") from None
        values = {
            "ls_task_id": int(draft["task"]), "annotator": annotator,
            "annotation_id": None if draft.get("annotation") is None else int(draft["annotation"]),
            "lead_time": float(draft.get("lead_time") or 0.0),
            "created_at": normalize_timestamp(draft.get("created_at") or draft["updated_at"]),
            "updated_at": normalize_timestamp(draft["updated_at"]), "recorded_at": time.time(),
        }  # fmt: skip
        key = (d.c.project_id == int(project_id), d.c.draft_id == int(draft["id"]))
        with self.transaction() as c:  # type: ignore[attr-defined]
            known = c.execute(sa.select(d.c.updated_at).where(*key)).first()
            if known is None:
                c.execute(
                    sa.insert(d).values(project_id=int(project_id), draft_id=int(draft["id"]),
                                        **values)
                )  # fmt: skip
                return True
            if known[0] >= values["updated_at"]:
                return False
            c.execute(sa.update(d).where(*key).values(**values))
        return True

    def drafts(self) -> list[dict[str, Any]]:
        """Every draft recorded, as rows of the ``drafts`` table."""
        q = sa.select(t.drafts).order_by(t.drafts.c.id)
        return [dict(r._mapping) for r in self._all(q)]  # type: ignore[attr-defined]

    def annotation_log(self) -> list[dict[str, Any]]:
        """Every stored revision of every Label Studio annotation and skip (deleted ones too:
        the work was done), oldest first, as rows of the ``annotations`` table."""
        a = t.annotations
        q = sa.select(a).where(a.c.source == SOURCE).order_by(a.c.id)
        return [dict(r._mapping) for r in self._all(q)]  # type: ignore[attr-defined]

    def practice_log(self) -> list[dict[str, Any]]:
        """Answered practice tasks of the training track with their seconds."""
        p = t.practice_attempts
        q = sa.select(p).where(p.c.answered_at.is_not(None), p.c.seconds.is_not(None))
        return [dict(r._mapping) for r in self._all(q.order_by(p.c.id))]  # type: ignore[attr-defined]

    def open_task_ids(self, project_id: int) -> list[int]:
        """Tasks pushed to ``project_id`` (as the workspace's tasks or as assignments) that
        have no recorded annotation or skip yet: where drafts may be waiting."""
        a, tk, s = t.annotations, t.tasks, t.assignments
        answered = sa.select(a.c.ls_task_id).where(a.c.source == SOURCE, a.c.deleted == 0)
        ids: set[int] = set()
        for table in (tk, s):
            q = sa.select(table.c.ls_task_id).where(
                table.c.project_id == int(project_id),
                table.c.ls_task_id.is_not(None),
                table.c.ls_task_id.not_in(answered),
            )
            ids |= {int(r[0]) for r in self._all(q)}  # type: ignore[attr-defined]
        return sorted(ids)

    def record_deletion(self, project_id: int, annotation_ids: list[int]) -> int:
        a = t.annotations
        with self.transaction() as c:  # type: ignore[attr-defined]
            n = 0
            images: set[int] = set()
            for annotation_id in annotation_ids:
                external_id = f"{project_id}:{int(annotation_id)}"
                key = (a.c.source == SOURCE, a.c.external_id == external_id, a.c.deleted == 0)
                images.update(int(r[0]) for r in c.execute(sa.select(a.c.image_id).where(*key)))
                cur = c.execute(sa.update(a).where(*key).values(deleted=1, is_current=0))
                n += int(cur.rowcount > 0)
            for image_id in images:  # another surviving annotation becomes the current one
                if c.execute(
                    sa.select(a.c.id).where(a.c.image_id == image_id, a.c.is_current == 1)
                ).first():
                    continue
                newest = c.execute(
                    sa.select(sa.func.max(a.c.id)).where(
                        a.c.image_id == image_id, a.c.deleted == 0, a.c.cancelled == 0
                    )
                ).scalar()
                if newest is not None:
                    c.execute(sa.update(a).where(a.c.id == newest).values(is_current=1))
        return n

    def annotation_ids(self, project_id: int, task_id: int) -> set[int]:
        a = t.annotations
        rows = self._all(  # type: ignore[attr-defined]
            sa.select(a.c.external_id)
            .distinct()
            .where(a.c.source == SOURCE, a.c.ls_task_id == task_id, a.c.deleted == 0)
        )
        prefix = f"{project_id}:"
        return {int(r[0][len(prefix) :]) for r in rows if r[0].startswith(prefix)}

    def project_annotations(self, project_id: int) -> list[AnnotationRow]:
        """The newest revision of each annotation and skip of a project that is not deleted,
        in Label Studio's annotation-id order."""
        a = t.annotations
        q = (
            sa.select(a)
            .where(
                a.c.source == SOURCE,
                a.c.external_id.like(f"{int(project_id)}:%"),
                a.c.deleted == 0,
            )
            .order_by(a.c.id)
        )
        newest = {r.external_id: _annotation(r._mapping) for r in self._all(q)}  # type: ignore[attr-defined]
        return sorted(newest.values(), key=lambda r: int(r.external_id.split(":")[1]))

    def get_cursor(self, project_id: int) -> str | None:
        return self.get(f"labelstudio.cursor.{project_id}")  # type: ignore[attr-defined]

    def set_cursor(self, project_id: int, cursor: str) -> None:
        self.set(f"labelstudio.cursor.{project_id}", cursor)  # type: ignore[attr-defined]
