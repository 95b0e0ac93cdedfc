"""Baseline: the tables of the last pre-Alembic SQLite schema (``PRAGMA user_version`` 2).

A database written before Alembic (SQLite, with ``user_version`` 1 or 2) already has these
tables: its remaining old steps are applied (:func:`hitl_active.store.migrations.upgrade_legacy`)
and it is stamped here, so every later revision runs on it like on a new database.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

Double = sa.Float(precision=53)


def upgrade() -> None:
    bind = op.get_bind()
    legacy = bind.dialect.name == "sqlite" and (
        bool(bind.exec_driver_sql("PRAGMA user_version").scalar())
        or sa.inspect(bind).has_table("images")
    )
    if legacy:
        from hitl_active.store.migrations import upgrade_legacy

        upgrade_legacy(bind)
        return
    op.create_table(
        "images",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("path", sa.Text, nullable=False, unique=True),
        sa.Column("width", sa.Integer, nullable=False),
        sa.Column("height", sa.Integer, nullable=False),
        sa.Column("sha1", sa.Text),
        sa.Column("split", sa.Text, nullable=False),
        sa.Column("added_at", Double, nullable=False),
        sa.CheckConstraint("split IN ('pool', 'gold', 'train')"),
    )
    op.create_index("images_split", "images", ["split"])
    op.create_table(
        "gold_labels",
        sa.Column("image_id", sa.Integer, sa.ForeignKey("images.id"), primary_key=True,
                  autoincrement=False),
        sa.Column("boxes_json", sa.Text, nullable=False),
        sa.Column("source", sa.Text, nullable=False),
    )  # fmt: skip
    op.create_table(
        "model_versions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.Text, nullable=False, unique=True),
        sa.Column("parent", sa.Text),
        sa.Column("created_at", Double, nullable=False),
        sa.Column("weights", sa.Text),
        sa.Column("onnx", sa.Text),
        sa.Column("metrics_json", sa.Text, nullable=False, server_default="{}"),
        sa.Column("train_snapshot_json", sa.Text, nullable=False, server_default="{}"),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("promoted_at", Double),
        sa.CheckConstraint(
            "status IN ('training', 'candidate', 'promoted', 'retired', 'rejected')"
        ),
    )
    op.create_table(
        "prediction_chunks",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("model_version", sa.Text, nullable=False),
        sa.Column("num_classes", sa.Integer, nullable=False),
        sa.Column("embedding_dim", sa.Integer, nullable=False),
        sa.Column("counts", sa.LargeBinary, nullable=False),
        sa.Column("boxes", sa.LargeBinary, nullable=False),
        sa.Column("embeddings", sa.LargeBinary),
        sa.Column("sizes", sa.LargeBinary, nullable=False),
        sa.Column("meta_json", sa.Text),
    )
    op.create_index("prediction_chunks_version", "prediction_chunks", ["model_version"])
    op.create_table(
        "predictions",
        sa.Column("image_id", sa.Integer, sa.ForeignKey("images.id"), primary_key=True,
                  autoincrement=False),
        sa.Column("model_version", sa.Text, primary_key=True),
        sa.Column("error", sa.Text),
        sa.Column("score", Double),
        sa.Column("created_at", Double, nullable=False),
        sa.Column("chunk_id", sa.Integer, sa.ForeignKey("prediction_chunks.id")),
        sa.Column("chunk_row", sa.Integer),
    )  # fmt: skip
    op.create_index("predictions_chunk", "predictions", ["chunk_id"])
    op.create_table(
        "rounds",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("started_at", Double, nullable=False),
        sa.Column("finished_at", Double),
        sa.Column("step", sa.Text, nullable=False),
        sa.Column("model_version", sa.Text),
        sa.Column("candidate_version", sa.Text),
        sa.Column("info_json", sa.Text, nullable=False, server_default="{}"),
    )
    op.create_table(
        "selections",
        sa.Column("round_id", sa.Integer, sa.ForeignKey("rounds.id"), primary_key=True),
        sa.Column("image_id", sa.Integer, sa.ForeignKey("images.id"), primary_key=True),
        sa.Column("rank", sa.Integer, nullable=False),
        sa.Column("score", Double),
        sa.Column("est_cost", Double),
    )
    op.create_table(
        "tasks",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("image_id", sa.Integer, sa.ForeignKey("images.id"), nullable=False,
                  unique=True),
        sa.Column("round_id", sa.Integer, sa.ForeignKey("rounds.id")),
        sa.Column("ls_task_id", sa.Integer, unique=True),
        sa.Column("project_id", sa.Integer),
        sa.Column("image_key", sa.Text),
        sa.Column("pushed_at", Double, nullable=False),
        sa.Column("prediction_model_version", sa.Text),
    )  # fmt: skip
    op.create_index("tasks_key", "tasks", ["project_id", "image_key"])
    op.create_table(
        "annotations",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("image_id", sa.Integer, sa.ForeignKey("images.id"), nullable=False),
        sa.Column("ls_task_id", sa.Integer),
        sa.Column("external_id", sa.Text, nullable=False),
        sa.Column("revision", sa.Text, nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("boxes_json", sa.Text, nullable=False),
        sa.Column("result_json", sa.Text),
        sa.Column("annotator", sa.Text),
        sa.Column("lead_time", Double),
        sa.Column("cancelled", sa.Integer, nullable=False, server_default="0"),
        sa.Column("deleted", sa.Integer, nullable=False, server_default="0"),
        sa.Column("diff_json", sa.Text),
        sa.Column("updated_at", sa.Text),
        sa.Column("recorded_at", Double, nullable=False),
        sa.Column("is_current", sa.Integer, nullable=False, server_default="1"),
        sa.UniqueConstraint("source", "external_id", "revision"),
    )
    op.create_index("annotations_image", "annotations", ["image_id", "is_current"])
    op.create_index("annotations_external", "annotations", ["source", "external_id"])
    op.create_table(
        "kv",
        sa.Column("key", sa.Text, primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )


def downgrade() -> None:
    for table in ("kv", "annotations", "tasks", "selections", "rounds", "predictions",
                  "prediction_chunks", "model_versions", "gold_labels", "images"):  # fmt: skip
        op.drop_table(table)
