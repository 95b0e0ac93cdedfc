"""The loop's state, in one database behind one class: SQLite by default, PostgreSQL by URL.

Everything the loop knows lives here: images and their split, predictions per model
version, rounds and their last completed step, selections, tasks pushed to Label Studio,
annotations with their history, model versions, small cursors (``kv``) and jobs that
workers claim. Every write is one transaction, so a process killed at any point leaves
either the old or the new state. Tables are in :mod:`hitl_active.store.schema`, migrations
(Alembic, run on open) in :mod:`hitl_active.store.migrations`, row types and the JSON box
format in :mod:`hitl_active.store.rows`, claims in :mod:`hitl_active.store.claims`.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from hitl_active.store import schema as t
from hitl_active.store.claims import ClaimsMixin
from hitl_active.store.db import begin_write, describe, dialect_insert, make_engine, state_url
from hitl_active.store.migrations import HEAD, SchemaTooNewError, current_revision, upgrade
from hitl_active.store.predstore import (
    PredictionRow,
    read_detections,
    read_packed,
    write_predictions,
)
from hitl_active.store.rows import (
    AnnotationRow,
    ImageRow,
    ModelVersionRow,
    RoundRow,
    TaskRow,
    _image,
    _version,
    boxes_to_labels,
    labels_to_boxes,
)
from hitl_active.store.sink import LabelStudioSinkMixin
from hitl_active.store.store_tables import TablesMixin
from hitl_active.store.store_team import TeamMixin

if TYPE_CHECKING:
    from hitl_active.detections import Detections
    from hitl_active.sampling.packed import PackedDetections

__all__ = [
    "AnnotationRow",
    "ImageRow",
    "ModelVersionRow",
    "RoundRow",
    "SchemaTooNewError",
    "Store",
    "TaskRow",
    "boxes_to_labels",
    "labels_to_boxes",
]

logger = logging.getLogger(__name__)

SPLITS = t.SPLITS


class Store(TablesMixin, TeamMixin, ClaimsMixin, LabelStudioSinkMixin):
    """The state database. Open with ``Store(path)`` (or ``Store(path, url=...)``).

    ``path`` is the workspace's SQLite file; its folder is the root that stored paths are
    relative to. ``url`` (a SQLAlchemy URL, e.g. ``postgresql://user@host/db``) puts the
    state elsewhere; ``HITL_DATABASE_URL`` overrides both. The schema is migrated on open.

    One instance may be shared by threads (the webhook receiver records annotations from
    a server's worker threads): every query and transaction holds one re-entrant lock.
    Several processes (or machines, on PostgreSQL) may open the same database; claims
    that they race for are atomic (see :mod:`hitl_active.store.claims`).
    """

    def __init__(self, path: str | Path, url: str | None = None, env: bool = True) -> None:
        self.path = Path(path)
        # Paths inside the workspace (the database file's folder) are stored relative to
        # it, so a workspace can be moved; paths outside it stay absolute.
        self.root = None if str(path) == ":memory:" else self.path.resolve().parent
        self.url = state_url(path, url, env)
        # The pool folder, against which a task's relative ``image_key`` is resolved
        # (set by the workspace that opens the store; see ``Workspace.image_key``).
        self.images_root: Path | None = None
        self.where = describe(self.url)
        self._engine = make_engine(self.url)
        self.dialect = self._engine.dialect.name
        self._lock = threading.RLock()
        self._tx: sa.Connection | None = None
        try:
            with self._connection() as c:  # a read: opening an up-to-date database writes nothing
                current = current_revision(c)
            if current != HEAD:
                with self.transaction() as c:
                    upgrade(c, self.where)
        except BaseException:
            self._engine.dispose()
            raise

    @classmethod
    def standalone(cls, path: str | Path = ":memory:", url: str | None = None) -> Store:
        """A state database with no pool, for ``serve`` and ``label-studio pull`` without a
        workspace: annotations, tasks and cursors are recorded by the same code as a
        workspace's, and each image is registered as Label Studio names it. It is the file
        (or ``url``) named: ``HITL_DATABASE_URL``, a workspace's database, does not apply."""
        store = cls(path, url, env=False)
        store.adopts_images = True
        if store.dialect == "sqlite" and sa.inspect(store._engine).has_table("ls_annotations"):
            logger.warning(
                "%s also holds annotations recorded by an earlier version (table "
                "ls_annotations), which this version does not read; run `hitl-active "
                "label-studio pull` to record them again from Label Studio",
                store.where,
            )
        return store

    # ------------------------------------------------------------------ paths
    def stored_path(self, path: str | Path) -> str:
        """How ``path`` is written: relative to the workspace when inside it, else absolute."""
        p = Path(path)
        if self.root is not None and p.is_absolute():
            try:
                return p.resolve().relative_to(self.root).as_posix()
            except ValueError:
                pass  # outside the workspace
        return str(path)

    def resolve_path(self, stored: str | None) -> str | None:
        """The absolute path of a stored one (workspaces written with absolute paths too)."""
        if stored is None or self.root is None or Path(stored).is_absolute():
            return stored
        return str(self.root / stored)

    def _image(self, r: Any) -> ImageRow:
        return dataclasses.replace(_image(r), path=self.resolve_path(r["path"]))

    def _version(self, r: Any) -> ModelVersionRow:
        v = _version(r)
        return dataclasses.replace(
            v, weights=self.resolve_path(v.weights), onnx=self.resolve_path(v.onnx)
        )

    # ------------------------------------------------------------------ plumbing
    def close(self) -> None:
        self._engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def schema_version(self) -> str | None:
        """The Alembic revision the database is at."""
        with self._connection() as c:
            return current_revision(c)

    @contextmanager
    def transaction(self) -> Iterator[sa.Connection]:
        """One write transaction (nested calls join the outer one)."""
        with self._lock:
            if self._tx is not None:
                yield self._tx
                return
            with self._engine.connect() as conn:
                begin_write(conn)
                with conn.begin():
                    self._tx = conn
                    try:
                        yield conn
                    finally:
                        self._tx = None

    @contextmanager
    def _connection(self) -> Iterator[sa.Connection]:
        """The open transaction's connection, or a pooled one for a read."""
        with self._lock:
            if self._tx is not None:
                yield self._tx
                return
            with self._engine.connect() as conn:
                yield conn

    def _all(self, stmt: Any, params: dict[str, Any] | None = None) -> list[sa.Row]:
        """Rows of a statement (Core, or SQL text with ``:name`` parameters)."""
        stmt = sa.text(stmt) if isinstance(stmt, str) else stmt
        with self._connection() as c:
            return list(c.execute(stmt, params or {}))

    def _one(self, stmt: Any, params: dict[str, Any] | None = None) -> sa.Row | None:
        rows = self._all(stmt, params)
        return rows[0] if rows else None

    def _insert(self, table: sa.Table) -> Any:
        """An INSERT that knows ``ON CONFLICT`` on this backend."""
        return dialect_insert(self.dialect, table)

    # ------------------------------------------------------------------ kv
    def get(self, key: str, default: Any = None) -> Any:
        row = self._one(sa.select(t.kv.c.value).where(t.kv.c.key == key))
        return default if row is None else json.loads(row[0])

    def get_many(self, keys: Iterable[str]) -> dict[str, Any]:
        """The stored values of ``keys`` (absent keys left out), in a few queries."""
        wanted = sorted(set(keys))
        out: dict[str, Any] = {}
        for start in range(0, len(wanted), 500):
            part = wanted[start : start + 500]
            for key, value in self._all(
                sa.select(t.kv.c.key, t.kv.c.value).where(t.kv.c.key.in_(part))
            ):
                out[str(key)] = json.loads(value)
        return out

    def setdefault(self, key: str, value: Any) -> Any:
        """``key``'s value, stored as ``value`` first when absent (atomic: of two processes
        racing, both get the one that was stored)."""
        stmt = self._insert(t.kv).values(key=key, value=json.dumps(value))
        with self.transaction() as c:
            c.execute(stmt.on_conflict_do_nothing(index_elements=["key"]))
        return self.get(key)

    def set(self, key: str, value: Any) -> None:
        stmt = self._insert(t.kv).values(key=key, value=json.dumps(value))
        stmt = stmt.on_conflict_do_update(
            index_elements=["key"], set_={"value": stmt.excluded.value}
        )
        with self.transaction() as c:
            c.execute(stmt)

    # ------------------------------------------------------------------ images
    def add_images(self, rows: Iterable[tuple[str, int, int, str | None, str]]) -> int:
        """Add ``(path, width, height, sha1, split)`` rows; known paths are skipped."""
        now, values = time.time(), []
        for path, width, height, sha1, split in rows:
            if split not in SPLITS:
                raise ValueError(f"image split must be one of {SPLITS}, got {split!r}")
            values.append(
                {"path": self.stored_path(path), "width": int(width), "height": int(height),
                 "sha1": sha1, "split": split, "added_at": now}
            )  # fmt: skip
        if not values:
            return 0
        stmt = self._insert(t.images).on_conflict_do_nothing(index_elements=["path"])
        added = 0
        with self.transaction() as c:
            for start in range(0, len(values), 500):
                done = c.execute(stmt.returning(t.images.c.id), values[start : start + 500])
                added += len(done.all())
        return added

    def images(self, split: str | None = None) -> list[ImageRow]:
        q = sa.select(t.images).order_by(t.images.c.id)
        if split is not None:
            q = q.where(t.images.c.split == split)
        return [self._image(r._mapping) for r in self._all(q)]

    def image(self, image_id: int) -> ImageRow:
        row = self._one(sa.select(t.images).where(t.images.c.id == int(image_id)))
        if row is None:
            raise KeyError(f"no image with id {image_id} in {self.where}")
        return self._image(row._mapping)

    def images_by_id(self, image_ids: Iterable[int]) -> dict[int, ImageRow]:
        """The images of ``image_ids``, by id, read in a few queries (not one per image).

        Raises:
            KeyError: an id names no image (the first such id).
        """
        ids = sorted({int(i) for i in image_ids})
        out: dict[int, ImageRow] = {}
        for start in range(0, len(ids), 500):
            part = ids[start : start + 500]
            for r in self._all(sa.select(t.images).where(t.images.c.id.in_(part))):
                row = self._image(r._mapping)
                out[row.id] = row
        missing = next((i for i in ids if i not in out), None)
        if missing is not None:
            raise KeyError(f"no image with id {missing} in {self.where}")
        return out

    def image_by_path(self, path: str) -> ImageRow | None:
        keys = [str(path), self.stored_path(path)]
        row = self._one(sa.select(t.images).where(t.images.c.path.in_(keys)))
        return None if row is None else self._image(row._mapping)

    def set_split(self, image_ids: Iterable[int], split: str) -> None:
        if split not in SPLITS:
            raise ValueError(f"image split must be one of {SPLITS}, got {split!r}")
        ids = [int(i) for i in image_ids]
        with self.transaction() as c:
            for start in range(0, len(ids), 500):
                part = ids[start : start + 500]
                c.execute(sa.update(t.images).where(t.images.c.id.in_(part)).values(split=split))

    def count_images(self) -> dict[str, int]:
        q = sa.select(t.images.c.split, sa.func.count()).group_by(t.images.c.split)
        return {s: 0 for s in SPLITS} | {r[0]: int(r[1]) for r in self._all(q)}

    # ------------------------------------------------------------------ gold labels
    def set_gold_labels(self, image_id: int, boxes: list[dict], source: str) -> None:
        stmt = self._insert(t.gold_labels).values(
            image_id=int(image_id), boxes_json=json.dumps(boxes), source=source
        )
        with self.transaction() as c:
            c.execute(stmt.on_conflict_do_nothing(index_elements=["image_id"]))
            c.execute(
                sa.update(t.images).where(t.images.c.id == int(image_id)).values(split="gold")
            )

    def gold_labels(self) -> dict[int, list[dict]]:
        g = t.gold_labels
        rows = self._all(sa.select(g.c.image_id, g.c.boxes_json).order_by(g.c.image_id))
        return {int(r[0]): json.loads(r[1]) for r in rows}

    # ------------------------------------------------------------------ predictions
    def put_predictions(self, model_version: str, rows: Iterable[PredictionRow]) -> None:
        """Store ``(image_id, Detections | None, error | None, score)`` rows in one transaction.

        Detections are kept as binary chunks (:mod:`hitl_active.store.predstore`).
        """
        with self.transaction() as c:
            write_predictions(c, model_version, rows)

    def predictions(self, model_version: str) -> dict[int, Detections | None]:
        """Every stored image of ``model_version``: its detections, or None for an error."""
        with self._connection() as c:
            return read_detections(c, model_version)

    def prediction(self, model_version: str, image_id: int) -> Detections | None:
        """One image's stored detections, or None."""
        return self.predictions_of(model_version, [image_id]).get(int(image_id))

    def predictions_of(
        self, model_version: str, image_ids: Iterable[int]
    ) -> dict[int, Detections | None]:
        """The stored detections of ``image_ids`` by ``model_version``, read together
        (images with no detections stored, or an error, left out)."""
        with self._connection() as c:
            return read_detections(c, model_version, [int(i) for i in image_ids])

    def packed_predictions(
        self, model_version: str, image_ids: Sequence[int]
    ) -> tuple[list[int], PackedDetections]:
        """Detections of ``image_ids`` as packed arrays, and which ids they are (in order).

        Images with no prediction or an error are left out. Nothing is decoded per image.
        """
        with self._connection() as c:
            return read_packed(c, model_version, image_ids)

    def predicted_ids(self, model_version: str) -> set[int]:
        p = t.predictions
        rows = self._all(sa.select(p.c.image_id).where(p.c.model_version == model_version))
        return {int(r[0]) for r in rows}

    def set_scores(self, model_version: str, scores: dict[int, float]) -> None:
        p = t.predictions
        stmt = (
            sa.update(p)
            .where(p.c.image_id == sa.bindparam("b_id"), p.c.model_version == model_version)
            .values(score=sa.bindparam("b_score"))
        )
        values = [{"b_id": int(i), "b_score": float(s)} for i, s in scores.items()]
        if values:
            with self.transaction() as c:
                c.execute(stmt, values)
