"""Claims: a ``jobs`` table that workers claim rows of, and the owner of each round.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

Double = sa.Float(precision=53)


def upgrade() -> None:
    with op.batch_alter_table("rounds") as batch:
        batch.add_column(sa.Column("owner", sa.Text))
    op.create_table(
        "jobs",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("key", sa.Text, nullable=False),
        sa.Column("payload_json", sa.Text, nullable=False, server_default="{}"),
        sa.Column("status", sa.Text, nullable=False, server_default="pending"),
        sa.Column("worker", sa.Text),
        sa.Column("created_at", Double, nullable=False),
        sa.Column("claimed_at", Double),
        sa.Column("finished_at", Double),
        sa.Column("result_json", sa.Text),
        sa.Column("error", sa.Text),
        sa.CheckConstraint("status IN ('pending', 'running', 'done', 'failed')"),
        sa.UniqueConstraint("kind", "key"),
    )
    op.create_index("jobs_pending", "jobs", ["kind", "status"])


def downgrade() -> None:
    op.drop_table("jobs")
    with op.batch_alter_table("rounds") as batch:
        batch.drop_column("owner")
