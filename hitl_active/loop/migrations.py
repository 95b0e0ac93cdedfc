"""Schema migrations for the state database, applied in order from day one.

Each entry moves the schema from version ``i`` to ``i + 1`` (``PRAGMA user_version``).
Never edit a released entry: append a new one. A server database (Postgres) can replace
SQLite later by running the same statements behind :class:`hitl_active.loop.store.Store`.
A version whose data must be rewritten, not only its tables, also has a function in
``DATA_MIGRATIONS``, run after its statements in the same transaction.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable

__all__ = ["DATA_MIGRATIONS", "MIGRATIONS", "SCHEMA_VERSION"]

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

# Predictions as binary chunks (see hitl_active.loop.predstore) instead of JSON per row.
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


def _predictions_to_chunks(conn: sqlite3.Connection) -> None:
    """Rewrite JSON predictions as binary chunks, then drop the JSON column."""
    from hitl_active.loop.predstore import write_predictions

    versions = [
        r[0]
        for r in conn.execute(
            "SELECT DISTINCT model_version FROM predictions WHERE detections_json IS NOT NULL"
        )
    ]
    for version in versions:
        ids = [
            int(r[0])
            for r in conn.execute(
                "SELECT image_id FROM predictions WHERE model_version = ? "
                "AND detections_json IS NOT NULL ORDER BY image_id",
                (version,),
            )
        ]
        for start in range(0, len(ids), 256):
            part = ids[start : start + 256]
            found = conn.execute(
                "SELECT image_id, detections_json, score FROM predictions WHERE model_version = ? "
                f"AND image_id IN ({','.join('?' * len(part))})",
                (version, *part),
            ).fetchall()
            write_predictions(conn, version, [(i, json.loads(d), None, s) for i, d, s in found])
    conn.execute("ALTER TABLE predictions DROP COLUMN detections_json")


MIGRATIONS: tuple[str, ...] = (_V1, _V2)
DATA_MIGRATIONS: dict[int, Callable[[sqlite3.Connection], None]] = {2: _predictions_to_chunks}
SCHEMA_VERSION = len(MIGRATIONS)
