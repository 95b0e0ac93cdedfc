"""Pilots of working conditions, and the well-being survey's answers, stored apart from names.

``pilots``: a change tried on one group of annotators against a control group, over a
period. ``wellbeing``: WHO-5 answers keyed by a pseudonym (a keyed hash of the annotator's
id, the key in ``kv``), never by name or id, so the table alone names no one.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

Double = sa.Float(precision=53)


def upgrade() -> None:
    op.create_table(
        "pilots",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.Text, nullable=False, unique=True),
        sa.Column("change", sa.Text, nullable=False),
        sa.Column("pilot_group", sa.Text, nullable=False),  # JSON list of annotator ids
        sa.Column("control_group", sa.Text, nullable=False),
        sa.Column("start", Double, nullable=False),
        sa.Column("end", Double),
        sa.Column("baseline_days", sa.Integer, nullable=False, server_default="14"),
        sa.Column("created_at", Double, nullable=False),
    )
    op.create_table(
        "wellbeing",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("respondent", sa.Text, nullable=False),
        sa.Column("answers", sa.Text, nullable=False),  # JSON: five answers, 0-5
        sa.Column("score", sa.Integer, nullable=False),
        sa.Column("answered_at", Double, nullable=False),
    )
    op.create_index("wellbeing_respondent", "wellbeing", ["respondent", "answered_at"])


def downgrade() -> None:
    op.drop_index("wellbeing_respondent", table_name="wellbeing")
    op.drop_table("wellbeing")
    op.drop_table("pilots")
