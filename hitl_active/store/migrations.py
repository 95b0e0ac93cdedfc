"""Schema migrations of the state database: Alembic revisions, run on open.

The revisions live in ``hitl_active/store/alembic/versions``; :func:`upgrade` runs them on a
store's connection (no ``alembic.ini``: the script location is set here), SQLite or
PostgreSQL alike. Never edit a released revision: add a new one
(``alembic -c <ini with script_location = hitl_active.store:alembic> revision``).

Databases written before Alembic (SQLite only) carry their schema version in
``PRAGMA user_version`` and were built by the frozen statements below. The first revision
recognises them: it finishes their old steps with :func:`upgrade_legacy` (statements, then
the data rewrite of a step that has one) instead of creating the tables again.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa

from hitl_active.store.predstore import write_predictions

__all__ = ["HEAD", "LEGACY_VERSION", "MIGRATIONS", "SchemaTooNewError", "upgrade"]

logger = logging.getLogger(__name__)

HEAD = "0007"  # the newest revision in alembic/versions (a test checks they agree)

_V1 = """
CREATE TABLE images (
    id INTEGER PRIMARY KEY,
    path TEXT NOT NULL UNIQUE,
    width INTEGER NOT NULL,
    height INTEGER NOT NULL,
    sha1 TEXT,
    split TEXT NOT NULL CHECK (split IN ('pool', 'gold', 'train')),
    added_at REAL NOT NULL
);
CREATE INDEX images_split ON images(split);

CREATE TABLE gold_labels (
    image_id INTEGER PRIMARY KEY REFERENCES images(id),
    boxes_json TEXT NOT NULL,
    source TEXT NOT NULL
);

CREATE TABLE model_versions (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    parent TEXT,
    created_at REAL NOT NULL,
    weights TEXT,
    onnx TEXT,
    metrics_json TEXT NOT NULL DEFAULT '{}',
    train_snapshot_json TEXT NOT NULL DEFAULT '{}',
    status TEXT NOT NULL
        CHECK (status IN ('training', 'candidate', 'promoted', 'retired', 'rejected')),
    promoted_at REAL
);

CREATE TABLE predictions (
    image_id INTEGER NOT NULL REFERENCES images(id),
    model_version TEXT NOT NULL,
    detections_json TEXT,
    error TEXT,
    score REAL,
    created_at REAL NOT NULL,
    PRIMARY KEY (image_id, model_version)
);

CREATE TABLE rounds (
    id INTEGER PRIMARY KEY,
    started_at REAL NOT NULL,
    finished_at REAL,
    step TEXT NOT NULL,
    model_version TEXT,
    candidate_version TEXT,
    info_json TEXT NOT NULL DEFAULT '{}'
);

CREATE TABLE selections (
    round_id INTEGER NOT NULL REFERENCES rounds(id),
    image_id INTEGER NOT NULL REFERENCES images(id),
    rank INTEGER NOT NULL,
    score REAL,
    est_cost REAL,
    PRIMARY KEY (round_id, image_id)
);

CREATE TABLE tasks (
    id INTEGER PRIMARY KEY,
    image_id INTEGER NOT NULL UNIQUE REFERENCES images(id),
    round_id INTEGER REFERENCES rounds(id),
    ls_task_id INTEGER UNIQUE,
    project_id INTEGER,
    image_key TEXT,
    pushed_at REAL NOT NULL,
    prediction_model_version TEXT
);

CREATE TABLE annotations (
    id INTEGER PRIMARY KEY,
    image_id INTEGER NOT NULL REFERENCES images(id),
    ls_task_id INTEGER,
    external_id TEXT NOT NULL,
    revision TEXT NOT NULL,
    source TEXT NOT NULL,
    boxes_json TEXT NOT NULL,
    result_json TEXT,
    annotator TEXT,
    lead_time REAL,
    cancelled INTEGER NOT NULL DEFAULT 0,
    deleted INTEGER NOT NULL DEFAULT 0,
    diff_json TEXT,
    updated_at TEXT,
    recorded_at REAL NOT NULL,
    is_current INTEGER NOT NULL DEFAULT 1,
    UNIQUE (source, external_id, revision)
);
CREATE INDEX annotations_image ON annotations(image_id, is_current);
CREATE INDEX annotations_external ON annotations(source, external_id);
CREATE INDEX tasks_key ON tasks(project_id, image_key);

CREATE TABLE kv (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
"""

# Predictions as binary chunks (see hitl_active.store.predstore) instead of JSON per row.
_V2 = """
CREATE TABLE prediction_chunks (
    id INTEGER PRIMARY KEY,
    model_version TEXT NOT NULL,
    num_classes INTEGER NOT NULL,
    embedding_dim INTEGER NOT NULL,
    counts BLOB NOT NULL,
    boxes BLOB NOT NULL,
    embeddings BLOB,
    sizes BLOB NOT NULL,
    meta_json TEXT
);
CREATE INDEX prediction_chunks_version ON prediction_chunks(model_version);
ALTER TABLE predictions ADD COLUMN chunk_id INTEGER REFERENCES prediction_chunks(id);
ALTER TABLE predictions ADD COLUMN chunk_row INTEGER;
CREATE INDEX predictions_chunk ON predictions(chunk_id);
"""


def _predictions_to_chunks(conn: sa.Connection) -> None:
    """Rewrite JSON predictions as binary chunks, then drop the JSON column."""

    sql = conn.exec_driver_sql
    versions = [
        r[0]
        for r in sql(
            "SELECT DISTINCT model_version FROM predictions WHERE detections_json IS NOT NULL"
        )
    ]
    for version in versions:
        ids = [
            int(r[0])
            for r in sql(
                "SELECT image_id FROM predictions WHERE model_version = ? "
                "AND detections_json IS NOT NULL ORDER BY image_id",
                (version,),
            )
        ]
        for start in range(0, len(ids), 256):
            part = ids[start : start + 256]
            found = sql(
                "SELECT image_id, detections_json, score FROM predictions WHERE model_version = ? "
                f"AND image_id IN ({','.join('?' * len(part))})",
                (version, *part),
            ).fetchall()
            write_predictions(conn, version, [(i, json.loads(d), None, s) for i, d, s in found])
    sql("ALTER TABLE predictions DROP COLUMN detections_json")


MIGRATIONS: tuple[str, ...] = (_V1, _V2)  # frozen: the pre-Alembic SQLite steps
DATA_MIGRATIONS: dict[int, Callable[[sa.Connection], None]] = {2: _predictions_to_chunks}
LEGACY_VERSION = len(MIGRATIONS)


class SchemaTooNewError(RuntimeError):
    """The database was written by a newer hitl-active than the one running."""


def upgrade_legacy(conn: sa.Connection) -> None:
    """Bring a pre-Alembic SQLite database to the last old schema (``user_version`` 2)."""
    current = int(conn.exec_driver_sql("PRAGMA user_version").scalar() or 0)
    if current > LEGACY_VERSION:
        raise SchemaTooNewError(
            f"state database has schema version {current}, but this hitl-active knows only "
            f"up to {LEGACY_VERSION}; upgrade hitl-active (pip install -U hitl-active)"
        )
    for version in range(current, LEGACY_VERSION):
        for statement in MIGRATIONS[version].split(";"):
            if statement.strip():
                conn.exec_driver_sql(statement)
        if version + 1 in DATA_MIGRATIONS:
            DATA_MIGRATIONS[version + 1](conn)
        conn.exec_driver_sql(f"PRAGMA user_version = {version + 1}")
        logger.info("migrated a pre-Alembic state database to schema version %d", version + 1)


@contextmanager
def _quiet_alembic() -> Iterator[None]:
    """Alembic's set-up chatter (plugins, context) is not news: only its warnings show."""
    log = logging.getLogger("alembic")
    level = log.level
    log.setLevel(max(logging.WARNING, level))
    try:
        yield
    finally:
        log.setLevel(level)


def current_revision(conn: sa.Connection) -> str | None:
    """The Alembic revision a database is at (None: new, or written before Alembic)."""
    with _quiet_alembic():
        from alembic.runtime.migration import MigrationContext

        return MigrationContext.configure(conn).get_current_revision()


def upgrade(conn: sa.Connection, where: str) -> None:
    """Migrate the database behind ``conn`` to :data:`HEAD` (``where`` names it in errors).

    Runs inside the caller's transaction, which commits it: all revisions or none.
    """
    revision = current_revision(conn)
    if revision == HEAD:
        return
    versions = Path(__file__).parent / "alembic" / "versions"
    known = {p.name.split("_", 1)[0] for p in versions.glob("*.py")}
    if revision is not None and revision not in known:
        raise SchemaTooNewError(
            f"state database {where} is at schema revision {revision}, which this hitl-active "
            f"does not know (its newest is {HEAD}); upgrade hitl-active "
            "(pip install -U hitl-active) or open a copy made with this version"
        )
    with _quiet_alembic():
        from alembic import command
        from alembic.config import Config

        config = Config()
        config.set_main_option("script_location", "hitl_active.store:alembic")
        config.attributes["connection"] = conn
        command.upgrade(config, "head")
    logger.info("migrated the state database %s from revision %s to %s", where, revision, HEAD)
