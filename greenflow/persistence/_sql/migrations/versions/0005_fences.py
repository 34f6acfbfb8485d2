"""greenflow's ``greenflow_fences``: the highest fencing token each job's writer has shown.

One row per fence (a job's uuid): ``token`` only grows. A fenced write raises
its fence to the writer's token and checks it in the same transaction as the
rows it writes, so a writer whose claim was taken over by a higher token can
no longer write anything, whatever the jobboard says and however late the
write arrives.

This file is frozen: later schema changes are new migrations.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_fences"
down_revision = "0004_jobboard"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "greenflow_fences",
        sa.Column("name", sa.String(64), primary_key=True, nullable=False),
        sa.Column("token", sa.BigInteger, nullable=False),
        mysql_engine="InnoDB",
        mysql_charset="utf8mb4",
    )


def downgrade() -> None:
    op.drop_table("greenflow_fences")
