"""greenflow's own table: ``greenflow_claims``, one row per flow detail being run.

The primary key on ``flow_uuid`` is what makes a claim atomic across
processes: of two engines inserting a claim for one flow, the database
accepts one. There is no foreign key to ``flowdetails``, so TaskFlow's
tables stay exactly TaskFlow's.

This file is frozen: later schema changes are new migrations.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_claims"
down_revision = "0001_taskflow_tables"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "greenflow_claims",
        sa.Column("flow_uuid", sa.String(64), primary_key=True, nullable=False),
        sa.Column("owner", sa.String(255), nullable=False),
        sa.Column("claimed_at", sa.DateTime, nullable=False),
        mysql_engine="InnoDB",
        mysql_charset="utf8mb4",
    )


def downgrade() -> None:
    op.drop_table("greenflow_claims")
