"""Fair work's records: each annotation's ``created_at`` and ``draft_created_at``, and the
drafts Label Studio keeps only until they are submitted.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

Double = sa.Float(precision=53)


def upgrade() -> None:
    with op.batch_alter_table("annotations") as batch:
        batch.add_column(sa.Column("created_at", sa.Text))
        batch.add_column(sa.Column("draft_created_at", sa.Text))
    op.create_table(
        "drafts",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("project_id", sa.Integer, nullable=False),
        sa.Column("draft_id", sa.Integer, nullable=False),
        sa.Column("ls_task_id", sa.Integer, nullable=False),
        sa.Column("annotator", sa.Text, nullable=False),
        sa.Column("annotation_id", sa.Integer),
        sa.Column("lead_time", Double, nullable=False, server_default="0"),
        sa.Column("created_at", sa.Text, nullable=False),
        sa.Column("updated_at", sa.Text, nullable=False),
        sa.Column("recorded_at", Double, nullable=False),
        sa.UniqueConstraint("project_id", "draft_id"),
    )
    op.create_index("drafts_task", "drafts", ["ls_task_id"])


def downgrade() -> None:
    op.drop_index("drafts_task", table_name="drafts")
    op.drop_table("drafts")
    with op.batch_alter_table("annotations") as batch:
        batch.drop_column("draft_created_at")
        batch.drop_column("created_at")
