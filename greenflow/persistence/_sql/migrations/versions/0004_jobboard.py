"""greenflow's SQL jobboard: ``greenflow_jobs``, ``greenflow_job_trash``, ``greenflow_job_counters``.

One row per job on a board (``board`` names it), holding its posting (JSON
text), its order (``rank``, ``sequence``) and its claim: ``owner``, the
fencing ``token`` and ``expires_at`` (seconds since the epoch; NULL: no
expiry). Claims and finishes are conditional updates on that row, so the
database decides who wins. ``greenflow_job_counters`` holds each board's
sequence and fencing counters (both only grow).

This file is frozen: later schema changes are new migrations.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0004_jobboard"
down_revision = "0003_mysql_longtext"
branch_labels = None
depends_on = None


def _text() -> sa.types.TypeEngine[str]:
    return sa.Text().with_variant(mysql.LONGTEXT(), "mysql", "mariadb")


def upgrade() -> None:
    op.create_table(
        "greenflow_jobs",
        sa.Column("uuid", sa.String(64), primary_key=True, nullable=False),
        sa.Column("board", sa.String(255), nullable=False),
        sa.Column("posting", _text(), nullable=False),
        sa.Column("rank", sa.Integer, nullable=False),
        sa.Column("sequence", sa.BigInteger, nullable=False),
        sa.Column("owner", sa.String(255), nullable=True),
        sa.Column("token", sa.BigInteger, nullable=True),
        sa.Column("expires_at", sa.Double, nullable=True),  # FLOAT is 32-bit on MySQL: seconds need 53 bits
        sa.Column("abandons", sa.Integer, nullable=False, server_default="0"),
        mysql_engine="InnoDB",
        mysql_charset="utf8mb4",
    )
    op.create_index("greenflow_jobs_order", "greenflow_jobs", ["board", "rank", "sequence"])
    op.create_table(
        "greenflow_job_trash",
        sa.Column("uuid", sa.String(64), primary_key=True, nullable=False),
        sa.Column("board", sa.String(255), nullable=False),
        sa.Column("record", _text(), nullable=False),
        mysql_engine="InnoDB",
        mysql_charset="utf8mb4",
    )
    op.create_table(
        "greenflow_job_counters",
        sa.Column("board", sa.String(255), primary_key=True, nullable=False),
        sa.Column("sequence", sa.BigInteger, nullable=False),
        sa.Column("fence", sa.BigInteger, nullable=False),
        mysql_engine="InnoDB",
        mysql_charset="utf8mb4",
    )


def downgrade() -> None:
    op.drop_table("greenflow_job_counters")
    op.drop_table("greenflow_job_trash")
    op.drop_index("greenflow_jobs_order", table_name="greenflow_jobs")
    op.drop_table("greenflow_jobs")
