"""MySQL/MariaDB: every JSON column holds what it holds on the other backends.

TaskFlow's schema gives ``atomdetails.meta``, ``atomdetails.revert_results``
and ``logbooks.meta`` the ``TEXT`` type, which MySQL caps at 64 KiB, so a
revert result or an atom's meta over that failed mid-revert there while SQLite
and PostgreSQL stored it. They become ``LONGTEXT`` like the other JSON
columns (TaskFlow reads them the same). Nothing changes on other databases.

This file is frozen: later schema changes are new migrations.
"""

from __future__ import annotations

from alembic import op
from sqlalchemy.dialects import mysql

revision = "0003_mysql_longtext"
down_revision = "0002_claims"
branch_labels = None
depends_on = None

_WIDENED = (("atomdetails", "meta"), ("atomdetails", "revert_results"), ("logbooks", "meta"))


def upgrade() -> None:
    if op.get_bind().dialect.name not in ("mysql", "mariadb"):
        return
    for table, column in _WIDENED:
        op.alter_column(
            table, column, type_=mysql.LONGTEXT(), existing_type=mysql.TEXT(), existing_nullable=True
        )


def downgrade() -> None:
    if op.get_bind().dialect.name not in ("mysql", "mariadb"):
        return
    for table, column in _WIDENED:
        op.alter_column(
            table, column, type_=mysql.TEXT(), existing_type=mysql.LONGTEXT(), existing_nullable=True
        )
