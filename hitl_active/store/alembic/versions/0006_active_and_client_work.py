"""Who is routed: an annotator taken out of routing (``active`` 0), and a manager's
clearance of a trainee for client work before the training track says ready
(``client_work`` with who decided and when).

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

Double = sa.Float(precision=53)


def upgrade() -> None:
    with op.batch_alter_table("annotators") as batch:
        batch.add_column(sa.Column("active", sa.Integer, nullable=False, server_default="1"))
        batch.add_column(sa.Column("client_work", sa.Integer, nullable=False, server_default="0"))
        batch.add_column(sa.Column("client_work_by", sa.Text))
        batch.add_column(sa.Column("client_work_at", Double))


def downgrade() -> None:
    # SQLite drops columns by copying the table: keep its (unnamed) tier check on the copy
    tiers = sa.CheckConstraint("tier IN ('trainee', 'annotator', 'reviewer')")
    with op.batch_alter_table("annotators", table_args=(tiers,)) as batch:
        batch.drop_column("client_work_at")
        batch.drop_column("client_work_by")
        batch.drop_column("client_work")
        batch.drop_column("active")
