"""The :class:`~hitl_active.store.store.Store` methods for model versions, rounds,
selections, tasks and annotations (SQLAlchemy Core, the same on SQLite and PostgreSQL)."""

from __future__ import annotations

import json
import time
from typing import Any

import sqlalchemy as sa

from hitl_active.store import schema as t
from hitl_active.store.rows import (
    AnnotationRow,
    ModelVersionRow,
    RoundRow,
    TaskRow,
    _annotation,
    _round,
    _task,
)

__all__ = ["TablesMixin"]

_VERSION_FIELDS = {"weights", "onnx", "metrics", "snapshot", "status", "promoted_at", "parent"}
_JSON_COLUMNS = {"metrics": "metrics_json", "snapshot": "train_snapshot_json"}


def _answered(task: Any) -> Any:
    """A task's image has a current annotation, or this task was skipped (a cancel)."""
    a = t.annotations
    skipped = sa.and_(a.c.cancelled == 1, a.c.deleted == 0, a.c.ls_task_id == task.c.ls_task_id)
    return (
        sa.exists()
        .where(a.c.image_id == task.c.image_id, sa.or_(a.c.is_current == 1, skipped))
        .correlate(task)
    )


class TablesMixin:
    """Model versions, rounds, selections, tasks and annotations of the state store."""

    # provided by Store
    where: str
    transaction: Any
    _all: Any
    _one: Any
    _insert: Any
    _version: Any
    stored_path: Any

    # ------------------------------------------------------------------ model versions
    def add_model_version(self, name: str, parent: str | None, status: str = "training") -> None:
        stmt = self._insert(t.model_versions).values(
            name=name, parent=parent, created_at=time.time(), status=status
        )
        with self.transaction() as c:
            c.execute(stmt.on_conflict_do_nothing(index_elements=["name"]))

    def update_model_version(self, name: str, **fields: Any) -> None:
        unknown = set(fields) - _VERSION_FIELDS
        if unknown:
            raise ValueError(
                f"unknown model version fields {sorted(unknown)}; use {_VERSION_FIELDS}"
            )
        values = {}
        for key, value in fields.items():
            if key in ("weights", "onnx") and value is not None:
                value = self.stored_path(value)
            values[_JSON_COLUMNS.get(key, key)] = (
                json.dumps(value) if key in _JSON_COLUMNS else value
            )
        with self.transaction() as c:
            mv = t.model_versions
            c.execute(sa.update(mv).where(mv.c.name == name).values(**values))

    def model_version(self, name: str) -> ModelVersionRow | None:
        row = self._one(sa.select(t.model_versions).where(t.model_versions.c.name == name))
        return None if row is None else self._version(row._mapping)

    def model_versions(self) -> list[ModelVersionRow]:
        rows = self._all(sa.select(t.model_versions).order_by(t.model_versions.c.id))
        return [self._version(r._mapping) for r in rows]

    def promoted_version(self) -> ModelVersionRow | None:
        mv = t.model_versions
        row = self._one(sa.select(mv).where(mv.c.status == "promoted").order_by(mv.c.id))
        return None if row is None else self._version(row._mapping)

    # ------------------------------------------------------------------ rounds
    def start_round(self, model_version: str | None, owner: str | None = None) -> RoundRow:
        with self.transaction() as c:
            cur = c.execute(
                sa.insert(t.rounds).values(
                    started_at=time.time(), step="started", model_version=model_version,
                    owner=owner,
                )
            )  # fmt: skip
            round_id = int(cur.inserted_primary_key[0])
            return self.round(round_id)

    def round(self, round_id: int) -> RoundRow:
        row = self._one(sa.select(t.rounds).where(t.rounds.c.id == int(round_id)))
        if row is None:
            raise KeyError(f"no round {round_id} in {self.where}")
        return _round(row._mapping)

    def rounds(self) -> list[RoundRow]:
        return [_round(r._mapping) for r in self._all(sa.select(t.rounds).order_by(t.rounds.c.id))]

    def open_round(self, owner: str | None = None) -> RoundRow | None:
        """The newest unfinished round of ``owner`` (None: rounds that no loop owns)."""
        r = t.rounds
        q = sa.select(r).where(r.c.finished_at.is_(None), r.c.owner.is_not_distinct_from(owner))
        row = self._one(q.order_by(r.c.id.desc()).limit(1))
        return None if row is None else _round(row._mapping)

    def set_round_step(self, round_id: int, step: str, **info: Any) -> None:
        """Record that ``step`` is complete; ``info`` is merged into the round's info."""
        r = t.rounds
        with self.transaction() as c:
            q = sa.select(r.c.info_json).where(r.c.id == int(round_id)).with_for_update()
            old = c.execute(q).scalar_one()
            values: dict[str, Any] = {"step": step, "info_json": json.dumps(json.loads(old) | info)}
            if info.get("candidate_version") is not None:
                values["candidate_version"] = info["candidate_version"]
            if step == "done":
                values["finished_at"] = time.time()
            c.execute(sa.update(r).where(r.c.id == int(round_id)).values(**values))

    # ------------------------------------------------------------------ selections
    def selection(self, round_id: int) -> list[int]:
        s = t.selections
        q = sa.select(s.c.image_id).where(s.c.round_id == int(round_id)).order_by(s.c.rank)
        return [int(r[0]) for r in self._all(q)]

    def selection_scores(self, round_id: int) -> dict[int, tuple[int, float]]:
        """``image_id`` → ``(rank, score)`` of a round's selection (rank 1 is the first)."""
        s = t.selections
        q = sa.select(s.c.image_id, s.c.rank, s.c.score).where(s.c.round_id == int(round_id))
        return {int(r[0]): (int(r[1]) + 1, float(r[2] or 0.0)) for r in self._all(q)}

    # ------------------------------------------------------------------ tasks
    def add_task(
        self,
        image_id: int,
        round_id: int | None,
        ls_task_id: int | None,
        project_id: int | None,
        model_version: str | None,
        image_key: str | None = None,
    ) -> bool:
        """Record a pushed task; returns False when the image already had one."""
        stmt = self._insert(t.tasks).values(
            image_id=int(image_id), round_id=round_id, ls_task_id=ls_task_id,
            project_id=project_id, image_key=image_key, pushed_at=time.time(),
            prediction_model_version=model_version,
        )  # fmt: skip
        with self.transaction() as c:
            return (
                c.execute(stmt.on_conflict_do_nothing().returning(t.tasks.c.id)).first() is not None
            )

    def set_task_prediction_version(self, image_id: int, model_version: str) -> None:
        with self.transaction() as c:
            c.execute(
                sa.update(t.tasks)
                .where(t.tasks.c.image_id == int(image_id))
                .values(prediction_model_version=model_version)
            )

    def tasks(self, round_id: int | None = None, open_only: bool = False) -> list[TaskRow]:
        q = sa.select(t.tasks).order_by(t.tasks.c.id)
        if round_id is not None:
            q = q.where(t.tasks.c.round_id == int(round_id))
        if open_only:  # a skip answers a task too (see release_skipped)
            q = q.where(~_answered(t.tasks))
        return [_task(r._mapping) for r in self._all(q)]

    def release_skipped(self, round_id: int) -> list[int]:
        """Return a round's skipped images to the pool; their ids.

        A skipped image (a cancelled annotation of its task, and no current annotation) loses
        its task row, so a later round may select it again and push it as a new task; the
        skip stays recorded with the old task's id.
        """
        tk, a = t.tasks, t.annotations
        current = sa.exists().where(a.c.image_id == tk.c.image_id, a.c.is_current == 1)
        q = sa.select(tk.c.image_id).where(
            tk.c.round_id == int(round_id), _answered(tk), ~current.correlate(tk)
        )
        with self.transaction() as c:
            ids = [int(r[0]) for r in c.execute(q)]
            if ids:
                c.execute(sa.delete(tk).where(tk.c.image_id.in_(ids)))
        return ids

    def task_of_image(self, image_id: int) -> TaskRow | None:
        row = self._one(sa.select(t.tasks).where(t.tasks.c.image_id == int(image_id)))
        return None if row is None else _task(row._mapping)

    def task_by_ls_id(self, ls_task_id: int) -> TaskRow | None:
        row = self._one(sa.select(t.tasks).where(t.tasks.c.ls_task_id == int(ls_task_id)))
        return None if row is None else _task(row._mapping)

    # ------------------------------------------------------------------ annotations
    def add_annotation(
        self,
        image_id: int,
        external_id: str,
        revision: str,
        boxes: list[dict],
        source: str = "labelstudio",
        ls_task_id: int | None = None,
        result: Any = None,
        annotator: str | None = None,
        lead_time: float | None = None,
        cancelled: bool = False,
        diff: dict | None = None,
        updated_at: str | None = None,
        created_at: str | None = None,
        draft_created_at: str | None = None,
    ) -> bool:
        """Record one annotation revision; the same (source, id, revision) twice is a no-op,
        except that a ``diff`` completes the revision stored without one (bulk webhook
        events carry none; a later pull does), with ``boxes`` then carrying its provenance.

        A new revision of an annotation, or a new annotation of the image, becomes current;
        older rows stay as history. Returns True when a row was written or completed.
        """
        a = t.annotations
        with self.transaction() as c:
            # one statement, so two servers recording the same revision at once stay a no-op
            new_id = c.execute(
                self._insert(a)
                .values(
                    image_id=int(image_id), ls_task_id=ls_task_id, external_id=external_id,
                    revision=revision, source=source, boxes_json=json.dumps(boxes),
                    result_json=None if result is None else json.dumps(result),
                    annotator=annotator, lead_time=lead_time, cancelled=int(cancelled),
                    diff_json=None if diff is None else json.dumps(diff),
                    recorded_at=time.time(), is_current=int(not cancelled), updated_at=updated_at,
                    created_at=created_at, draft_created_at=draft_created_at,
                )
                .on_conflict_do_nothing(index_elements=["source", "external_id", "revision"])
                .returning(a.c.id)
            ).scalar()  # fmt: skip
            if new_id is None:
                if diff is None:
                    return False
                same = (a.c.source == source, a.c.external_id == external_id,
                        a.c.revision == revision, a.c.diff_json.is_(None))  # fmt: skip
                filled = c.execute(
                    sa.update(a).where(*same).values(diff_json=json.dumps(diff),
                                                     boxes_json=json.dumps(boxes))
                )  # fmt: skip
                return bool(filled.rowcount)
            if not cancelled:
                older = (a.c.image_id == int(image_id), a.c.id != new_id)
                c.execute(sa.update(a).where(*older).values(is_current=0))
        return True

    def annotations(self, current_only: bool = True) -> list[AnnotationRow]:
        a = t.annotations
        q = sa.select(a).order_by(a.c.id)
        if current_only:
            q = q.where(a.c.is_current == 1, a.c.cancelled == 0)
        return [_annotation(r._mapping) for r in self._all(q)]

    def annotation_history(self, image_id: int) -> list[AnnotationRow]:
        a = t.annotations
        q = sa.select(a).where(a.c.image_id == int(image_id)).order_by(a.c.id)
        return [_annotation(r._mapping) for r in self._all(q)]

    def annotated_ids(self) -> set[int]:
        a = t.annotations
        q = sa.select(a.c.image_id).where(a.c.is_current == 1, a.c.cancelled == 0)
        return {int(r[0]) for r in self._all(q)}

    def annotator_seconds(self) -> float:
        q = sa.select(sa.func.coalesce(sa.func.sum(t.annotations.c.lead_time), 0.0))
        row = self._one(q)
        return float(row[0]) if row else 0.0
