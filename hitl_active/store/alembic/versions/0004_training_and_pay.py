"""The training track and fair work: practice attempts, peer tips, annotators' location,
page key, sensitive-content opt-out and practice project.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

Double = sa.Float(precision=53)


def upgrade() -> None:
    with op.batch_alter_table("annotators") as batch:
        batch.add_column(sa.Column("location", sa.Text))
        batch.add_column(sa.Column("page_key_hash", sa.Text))
        batch.add_column(
            sa.Column("sensitive_opt_out", sa.Integer, nullable=False, server_default="0")
        )
        batch.add_column(sa.Column("practice_project_id", sa.Integer))
    op.create_table(
        "practice_attempts",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("annotator_id", sa.Integer, sa.ForeignKey("annotators.id"), nullable=False),
        sa.Column("task_key", sa.Text, nullable=False),
        sa.Column("task_type", sa.Text, nullable=False),
        sa.Column("skills_json", sa.Text, nullable=False, server_default="[]"),
        sa.Column("image_id", sa.Integer, sa.ForeignKey("images.id")),
        sa.Column("project_id", sa.Integer),
        sa.Column("ls_task_id", sa.Integer, unique=True),
        sa.Column("pushed_at", Double, nullable=False),
        sa.Column("answered_at", Double),
        sa.Column("seconds", Double),
        sa.Column("outcome_json", sa.Text),
        sa.Column("feedback_json", sa.Text),
        sa.UniqueConstraint("annotator_id", "task_key"),
    )
    op.create_table(
        "peer_tips",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("annotator_id", sa.Integer, sa.ForeignKey("annotators.id"), nullable=False),
        sa.Column("skill", sa.Text, nullable=False),
        sa.Column("task_type", sa.Text, nullable=False),
        sa.Column("text", sa.Text, nullable=False, server_default=""),
        sa.Column("created_at", Double, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("peer_tips")
    op.drop_table("practice_attempts")
    # SQLite drops columns by copying the table: keep its (unnamed) tier check on the copy
    tiers = sa.CheckConstraint("tier IN ('trainee', 'annotator', 'reviewer')")
    with op.batch_alter_table("annotators", table_args=(tiers,)) as batch:
        batch.drop_column("practice_project_id")
        batch.drop_column("sensitive_opt_out")
        batch.drop_column("page_key_hash")
        batch.drop_column("location")
