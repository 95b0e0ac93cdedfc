"""The workforce: annotator records, assignments (tasks, overlap, honeypots), gold contests.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

Double = sa.Float(precision=53)


def upgrade() -> None:
    op.create_table(
        "annotators",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.Text, nullable=False, unique=True),
        sa.Column("email", sa.Text, unique=True),
        sa.Column("ls_user_id", sa.Integer, unique=True),
        sa.Column("tier", sa.Text, nullable=False, server_default="annotator"),
        sa.Column("languages", sa.Text),
        sa.Column("notes", sa.Text),
        sa.Column("queue_project_id", sa.Integer),
        sa.Column("created_at", Double, nullable=False),
        sa.CheckConstraint("tier IN ('trainee', 'annotator', 'reviewer')"),
    )
    op.create_table(
        "assignments",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("round_id", sa.Integer, sa.ForeignKey("rounds.id")),
        sa.Column("image_id", sa.Integer, sa.ForeignKey("images.id"), nullable=False),
        sa.Column("annotator_id", sa.Integer, sa.ForeignKey("annotators.id"), nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("project_id", sa.Integer),
        sa.Column("ls_task_id", sa.Integer, unique=True),
        sa.Column("pushed_at", Double, nullable=False),
        sa.CheckConstraint("kind IN ('task', 'overlap', 'honeypot')"),
        sa.UniqueConstraint("image_id", "annotator_id"),
    )
    op.create_index("assignments_round", "assignments", ["round_id"])
    op.create_table(
        "gold_contests",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("annotator_id", sa.Integer, sa.ForeignKey("annotators.id"), nullable=False),
        sa.Column("image_id", sa.Integer, sa.ForeignKey("images.id"), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("status", sa.Text, nullable=False, server_default="open"),
        sa.Column("reviewer", sa.Text),
        sa.Column("corrected_json", sa.Text),
        sa.Column("created_at", Double, nullable=False),
        sa.Column("reviewed_at", Double),
        sa.CheckConstraint("status IN ('open', 'upheld', 'corrected')"),
    )


def downgrade() -> None:
    op.drop_table("gold_contests")
    op.drop_index("assignments_round", "assignments")
    op.drop_table("assignments")
    op.drop_table("annotators")
