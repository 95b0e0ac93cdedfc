"""The loop's state, in one SQLite database behind one class.

Everything the loop knows lives here: images and their split, predictions per model
version, rounds and their last completed step, selections, tasks pushed to Label Studio,
annotations with their history, model versions and small cursors (``kv``). Every write is
one transaction, so a process killed at any point leaves either the old or the new state.
Row types and the JSON box format live in :mod:`hitl_active.loop.rows`.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hitl_active.loop.migrations import DATA_MIGRATIONS, MIGRATIONS, SCHEMA_VERSION
from hitl_active.loop.predstore import (
    PredictionRow,
    read_detections,
    read_packed,
    write_predictions,
)
from hitl_active.loop.rows import (
    AnnotationRow,
    ImageRow,
    ModelVersionRow,
    RoundRow,
    TaskRow,
    _annotation,
    _image,
    _round,
    _task,
    _version,
    boxes_to_labels,
    labels_to_boxes,
)
from hitl_active.loop.sink import LabelStudioSinkMixin

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

SPLITS = ("pool", "gold", "train")


class SchemaTooNewError(RuntimeError):
    """The database was written by a newer hitl-active than the one running."""


class Store(LabelStudioSinkMixin):
    """The state database. Open with ``Store(path)``; the schema is migrated on open.

    One instance may be shared by threads (the webhook receiver records annotations from
    a server's worker threads): every query and transaction holds one re-entrant lock.
    Several processes may open the same file; SQLite's WAL and busy timeout serialise them.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        # Paths inside the workspace (the database's folder) are stored relative to it, so
        # a workspace can be moved; paths outside it stay absolute.
        self.root = None if str(path) == ":memory:" else self.path.resolve().parent
        self._lock = threading.RLock()
        self._conn = sqlite3.connect(
            self.path, timeout=30.0, isolation_level=None, check_same_thread=False
        )
        self._conn.row_factory = sqlite3.Row
        self._conn.execute("PRAGMA foreign_keys = ON")
        if str(path) != ":memory:":
            self._conn.execute("PRAGMA journal_mode = WAL")
        self._conn.execute("PRAGMA synchronous = NORMAL")
        self._depth = 0
        self._migrate()

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

    def _image(self, r: sqlite3.Row) -> ImageRow:
        return dataclasses.replace(_image(r), path=self.resolve_path(r["path"]))

    def _version(self, r: sqlite3.Row) -> ModelVersionRow:
        v = _version(r)
        return dataclasses.replace(
            v, weights=self.resolve_path(v.weights), onnx=self.resolve_path(v.onnx)
        )

    # ------------------------------------------------------------------ plumbing
    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def schema_version(self) -> int:
        return int(self._conn.execute("PRAGMA user_version").fetchone()[0])

    def _migrate(self) -> None:
        current = self.schema_version
        if current > SCHEMA_VERSION:
            raise SchemaTooNewError(
                f"state database {self.path} has schema version {current}, but this "
                f"hitl-active knows only up to {SCHEMA_VERSION}; upgrade hitl-active "
                "(pip install -U hitl-active) or open a copy made with this version"
            )
        for version in range(current, SCHEMA_VERSION):
            with self.transaction() as conn:
                for statement in MIGRATIONS[version].split(";"):
                    if statement.strip():
                        conn.execute(statement)
                if version + 1 in DATA_MIGRATIONS:
                    DATA_MIGRATIONS[version + 1](conn)
                conn.execute(f"PRAGMA user_version = {version + 1}")
            logger.debug("migrated %s to schema version %d", self.path, version + 1)

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction (nested calls join the outer one)."""
        with self._lock:
            if self._depth:
                self._depth += 1
                try:
                    yield self._conn
                finally:
                    self._depth -= 1
                return
            self._conn.execute("BEGIN IMMEDIATE")
            self._depth = 1
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            else:
                self._conn.execute("COMMIT")
            finally:
                self._depth = 0

    def _all(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        with self._lock:
            return self._conn.execute(sql, params).fetchall()

    def _one(self, sql: str, params: Sequence[Any] = ()) -> sqlite3.Row | None:
        with self._lock:
            return self._conn.execute(sql, params).fetchone()

    # ------------------------------------------------------------------ kv
    def get(self, key: str, default: Any = None) -> Any:
        row = self._one("SELECT value FROM kv WHERE key = ?", (key,))
        return default if row is None else json.loads(row[0])

    def set(self, key: str, value: Any) -> None:
        with self.transaction() as c:
            c.execute(
                "INSERT INTO kv(key, value) VALUES (?, ?) "
                "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                (key, json.dumps(value)),
            )

    # ------------------------------------------------------------------ images
    def add_images(self, rows: Iterable[tuple[str, int, int, str | None, str]]) -> int:
        """Add ``(path, width, height, sha1, split)`` rows; known paths are skipped."""
        now, added = time.time(), 0
        with self.transaction() as c:
            for path, width, height, sha1, split in rows:
                if split not in SPLITS:
                    raise ValueError(f"image split must be one of {SPLITS}, got {split!r}")
                cur = c.execute(
                    "INSERT OR IGNORE INTO images(path, width, height, sha1, split, added_at) "
                    "VALUES (?, ?, ?, ?, ?, ?)",
                    (self.stored_path(path), int(width), int(height), sha1, split, now),
                )
                added += cur.rowcount
        return added

    def images(self, split: str | None = None) -> list[ImageRow]:
        sql, params = "SELECT * FROM images", ()
        if split is not None:
            sql, params = sql + " WHERE split = ?", (split,)
        return [self._image(r) for r in self._all(sql + " ORDER BY id", params)]

    def image(self, image_id: int) -> ImageRow:
        row = self._one("SELECT * FROM images WHERE id = ?", (image_id,))
        if row is None:
            raise KeyError(f"no image with id {image_id} in {self.path}")
        return self._image(row)

    def image_by_path(self, path: str) -> ImageRow | None:
        keys = (str(path), self.stored_path(path))
        row = self._one("SELECT * FROM images WHERE path IN (?, ?)", keys)
        return None if row is None else self._image(row)

    def set_split(self, image_ids: Iterable[int], split: str) -> None:
        if split not in SPLITS:
            raise ValueError(f"image split must be one of {SPLITS}, got {split!r}")
        with self.transaction() as c:
            c.executemany(
                "UPDATE images SET split = ? WHERE id = ?", [(split, int(i)) for i in image_ids]
            )

    def count_images(self) -> dict[str, int]:
        rows = self._all("SELECT split, COUNT(*) FROM images GROUP BY split")
        return {s: 0 for s in SPLITS} | {r[0]: int(r[1]) for r in rows}

    # ------------------------------------------------------------------ gold labels
    def set_gold_labels(self, image_id: int, boxes: list[dict], source: str) -> None:
        with self.transaction() as c:
            c.execute(
                "INSERT INTO gold_labels(image_id, boxes_json, source) VALUES (?, ?, ?) "
                "ON CONFLICT(image_id) DO NOTHING",
                (image_id, json.dumps(boxes), source),
            )
            c.execute("UPDATE images SET split = 'gold' WHERE id = ?", (image_id,))

    def gold_labels(self) -> dict[int, list[dict]]:
        rows = self._all("SELECT image_id, boxes_json FROM gold_labels ORDER BY image_id")
        return {int(r[0]): json.loads(r[1]) for r in rows}

    # ------------------------------------------------------------------ predictions
    def put_predictions(self, model_version: str, rows: Iterable[PredictionRow]) -> None:
        """Store ``(image_id, Detections | None, error | None, score)`` rows in one transaction.

        Detections are kept as binary chunks (:mod:`hitl_active.loop.predstore`).
        """
        with self.transaction() as c:
            write_predictions(c, model_version, rows)

    def predictions(self, model_version: str) -> dict[int, Detections | None]:
        """Every stored image of ``model_version``: its detections, or None for an error."""
        with self._lock:
            return read_detections(self._conn, model_version)

    def prediction(self, model_version: str, image_id: int) -> Detections | None:
        """One image's stored detections, or None."""
        with self._lock:
            return read_detections(self._conn, model_version, [int(image_id)]).get(int(image_id))

    def packed_predictions(
        self, model_version: str, image_ids: Sequence[int]
    ) -> tuple[list[int], PackedDetections]:
        """Detections of ``image_ids`` as packed arrays, and which ids they are (in order).

        Images with no prediction or an error are left out. Nothing is decoded per image.
        """
        with self._lock:
            return read_packed(self._conn, model_version, image_ids)

    def predicted_ids(self, model_version: str) -> set[int]:
        rows = self._all(
            "SELECT image_id FROM predictions WHERE model_version = ?", (model_version,)
        )
        return {int(r[0]) for r in rows}

    def set_scores(self, model_version: str, scores: dict[int, float]) -> None:
        with self.transaction() as c:
            c.executemany(
                "UPDATE predictions SET score = ? WHERE image_id = ? AND model_version = ?",
                [(float(s), int(i), model_version) for i, s in scores.items()],
            )

    # ------------------------------------------------------------------ model versions
    def add_model_version(self, name: str, parent: str | None, status: str = "training") -> None:
        with self.transaction() as c:
            c.execute(
                "INSERT OR IGNORE INTO model_versions(name, parent, created_at, status) "
                "VALUES (?, ?, ?, ?)",
                (name, parent, time.time(), status),
            )

    def update_model_version(self, name: str, **fields: Any) -> None:
        allowed = {"weights", "onnx", "metrics", "snapshot", "status", "promoted_at", "parent"}
        unknown = set(fields) - allowed
        if unknown:
            raise ValueError(f"unknown model version fields {sorted(unknown)}; use {allowed}")
        cols = {"metrics": "metrics_json", "snapshot": "train_snapshot_json"}
        sets, values = [], []
        for key, value in fields.items():
            if key in ("weights", "onnx") and value is not None:
                value = self.stored_path(value)
            sets.append(f"{cols.get(key, key)} = ?")
            values.append(json.dumps(value) if key in cols else value)
        with self.transaction() as c:
            sql = f"UPDATE model_versions SET {', '.join(sets)} WHERE name = ?"
            c.execute(sql, (*values, name))

    def model_version(self, name: str) -> ModelVersionRow | None:
        row = self._one("SELECT * FROM model_versions WHERE name = ?", (name,))
        return None if row is None else self._version(row)

    def model_versions(self) -> list[ModelVersionRow]:
        return [self._version(r) for r in self._all("SELECT * FROM model_versions ORDER BY id")]

    def promoted_version(self) -> ModelVersionRow | None:
        row = self._one("SELECT * FROM model_versions WHERE status = 'promoted'")
        return None if row is None else self._version(row)

    # ------------------------------------------------------------------ rounds
    def start_round(self, model_version: str | None) -> RoundRow:
        with self.transaction() as c:
            cur = c.execute(
                "INSERT INTO rounds(started_at, step, model_version) VALUES (?, 'started', ?)",
                (time.time(), model_version),
            )
            round_id = int(cur.lastrowid or 0)
        return self.round(round_id)

    def round(self, round_id: int) -> RoundRow:
        row = self._one("SELECT * FROM rounds WHERE id = ?", (round_id,))
        if row is None:
            raise KeyError(f"no round {round_id} in {self.path}")
        return _round(row)

    def rounds(self) -> list[RoundRow]:
        return [_round(r) for r in self._all("SELECT * FROM rounds ORDER BY id")]

    def open_round(self) -> RoundRow | None:
        row = self._one("SELECT * FROM rounds WHERE finished_at IS NULL ORDER BY id DESC")
        return None if row is None else _round(row)

    def set_round_step(self, round_id: int, step: str, **info: Any) -> None:
        """Record that ``step`` is complete; ``info`` is merged into the round's info."""
        with self.transaction() as c:
            row = c.execute("SELECT info_json FROM rounds WHERE id = ?", (round_id,)).fetchone()
            merged = json.loads(row[0]) | info
            candidate = info.get("candidate_version")
            c.execute(
                "UPDATE rounds SET step = ?, info_json = ?, "
                "candidate_version = COALESCE(?, candidate_version), "
                "finished_at = CASE WHEN ? = 'done' THEN ? ELSE finished_at END WHERE id = ?",
                (step, json.dumps(merged), candidate, step, time.time(), round_id),
            )

    # ------------------------------------------------------------------ selections
    def add_selection(self, round_id: int, rows: Sequence[tuple[int, float, float]]) -> None:
        """``(image_id, score, est_cost)`` in rank order; a round's selection is written once."""
        with self.transaction() as c:
            if c.execute("SELECT 1 FROM selections WHERE round_id = ?", (round_id,)).fetchone():
                return
            c.executemany(
                "INSERT INTO selections(round_id, image_id, rank, score, est_cost) "
                "VALUES (?, ?, ?, ?, ?)",
                [(round_id, i, rank, s, e) for rank, (i, s, e) in enumerate(rows)],
            )

    def selection(self, round_id: int) -> list[int]:
        rows = self._all(
            "SELECT image_id FROM selections WHERE round_id = ? ORDER BY rank", (round_id,)
        )
        return [int(r[0]) for r in rows]

    def selection_scores(self, round_id: int) -> dict[int, tuple[int, float]]:
        """``image_id`` → ``(rank, score)`` of a round's selection (rank 1 is the first)."""
        rows = self._all(
            "SELECT image_id, rank, score FROM selections WHERE round_id = ?", (round_id,)
        )
        return {int(r[0]): (int(r[1]) + 1, float(r[2] or 0.0)) for r in rows}

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
        with self.transaction() as c:
            cur = c.execute(
                "INSERT OR IGNORE INTO tasks(image_id, round_id, ls_task_id, project_id, "
                "image_key, pushed_at, prediction_model_version) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (image_id, round_id, ls_task_id, project_id, image_key, time.time(), model_version),
            )
            return cur.rowcount == 1

    def set_task_prediction_version(self, image_id: int, model_version: str) -> None:
        with self.transaction() as c:
            c.execute(
                "UPDATE tasks SET prediction_model_version = ? WHERE image_id = ?",
                (model_version, image_id),
            )

    def tasks(self, round_id: int | None = None, open_only: bool = False) -> list[TaskRow]:
        sql, params = "SELECT * FROM tasks t WHERE 1", []
        if round_id is not None:
            sql, params = sql + " AND round_id = ?", [round_id]
        if open_only:  # a skip answers a task too (see release_skipped)
            sql += (
                " AND NOT EXISTS (SELECT 1 FROM annotations a WHERE a.image_id = t.image_id"
                " AND (a.is_current = 1 OR (a.cancelled = 1 AND a.deleted = 0"
                " AND a.ls_task_id = t.ls_task_id)))"
            )
        return [_task(r) for r in self._all(sql + " ORDER BY id", params)]

    def release_skipped(self, round_id: int) -> list[int]:
        """Return a round's skipped images to the pool; their ids.

        A skipped image (a cancelled annotation of its task, and no current annotation) loses
        its task row, so a later round may select it again and push it as a new task; the
        skip stays recorded with the old task's id.
        """
        with self.transaction() as c:
            ids = [
                int(r[0])
                for r in c.execute(
                    "SELECT t.image_id FROM tasks t WHERE t.round_id = ? AND EXISTS (SELECT 1 "
                    "FROM annotations a WHERE a.image_id = t.image_id AND a.cancelled = 1 "
                    "AND a.deleted = 0 AND a.ls_task_id = t.ls_task_id) AND NOT EXISTS "
                    "(SELECT 1 FROM annotations a WHERE a.image_id = t.image_id "
                    "AND a.is_current = 1)",
                    (round_id,),
                )
            ]
            c.executemany("DELETE FROM tasks WHERE image_id = ?", [(i,) for i in ids])
        return ids

    def task_of_image(self, image_id: int) -> TaskRow | None:
        row = self._one("SELECT * FROM tasks WHERE image_id = ?", (image_id,))
        return None if row is None else _task(row)

    def task_by_ls_id(self, ls_task_id: int) -> TaskRow | None:
        row = self._one("SELECT * FROM tasks WHERE ls_task_id = ?", (ls_task_id,))
        return None if row is None else _task(row)

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
    ) -> bool:
        """Record one annotation revision; the same (source, id, revision) twice is a no-op.

        A new revision of an annotation, or a new annotation of the image, becomes current;
        older rows stay as history. Returns True when a row was written.
        """
        with self.transaction() as c:
            exists = c.execute(
                "SELECT 1 FROM annotations WHERE source = ? AND external_id = ? AND revision = ?",
                (source, external_id, revision),
            ).fetchone()
            if exists:
                return False
            if not cancelled:
                c.execute("UPDATE annotations SET is_current = 0 WHERE image_id = ?", (image_id,))
            c.execute(
                "INSERT INTO annotations(image_id, ls_task_id, external_id, revision, source, "
                "boxes_json, result_json, annotator, lead_time, cancelled, diff_json, "
                "recorded_at, is_current, updated_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    image_id,
                    ls_task_id,
                    external_id,
                    revision,
                    source,
                    json.dumps(boxes),
                    None if result is None else json.dumps(result),
                    annotator,
                    lead_time,
                    int(cancelled),
                    None if diff is None else json.dumps(diff),
                    time.time(),
                    int(not cancelled),
                    updated_at,
                ),
            )
        return True

    def annotations(self, current_only: bool = True) -> list[AnnotationRow]:
        sql = "SELECT * FROM annotations"
        if current_only:
            sql += " WHERE is_current = 1 AND cancelled = 0"
        return [_annotation(r) for r in self._all(sql + " ORDER BY id")]

    def annotation_history(self, image_id: int) -> list[AnnotationRow]:
        rows = self._all("SELECT * FROM annotations WHERE image_id = ? ORDER BY id", (image_id,))
        return [_annotation(r) for r in rows]

    def annotated_ids(self) -> set[int]:
        rows = self._all("SELECT image_id FROM annotations WHERE is_current = 1 AND cancelled = 0")
        return {int(r[0]) for r in rows}

    def annotator_seconds(self) -> float:
        row = self._one("SELECT COALESCE(SUM(lead_time), 0) FROM annotations")
        return float(row[0]) if row else 0.0
