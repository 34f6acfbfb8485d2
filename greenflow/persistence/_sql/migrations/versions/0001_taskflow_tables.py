"""TaskFlow's tables (logbooks, flowdetails, atomdetails), created only where missing.

The tables are created exactly as TaskFlow's newest schema has them (its
migration ``00af93df9d77``; on SQLite, as TaskFlow's ``create_all`` makes
them), so TaskFlow and greenflow can share the database. Tables that exist
are left as they are, data included, after checking they have every column
greenflow uses: an older TaskFlow schema must be upgraded by TaskFlow first.
When this migration creates all three tables on PostgreSQL or MySQL and
TaskFlow's ``alembic_version`` table is absent, it records TaskFlow's head
revision there, so a later TaskFlow ``upgrade()`` sees a current schema
instead of trying to create the tables again.

This file is frozen: it must keep creating the same schema whatever later
versions of greenflow change.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql, postgresql

from greenflow.exceptions import StorageError

revision = "0001_taskflow_tables"
down_revision = None
branch_labels = None
depends_on = None

_TASKFLOW_HEAD = "00af93df9d77"
_UUID = 64
_NAME = 255
_STATE = 255
_VERSION = 64

_REQUIRED: dict[str, set[str]] = {
    "logbooks": {"created_at", "updated_at", "meta", "name", "uuid"},
    "flowdetails": {"created_at", "updated_at", "parent_uuid", "meta", "name", "state", "uuid"},
    "atomdetails": {
        "created_at",
        "updated_at",
        "meta",
        "parent_uuid",
        "name",
        "version",
        "state",
        "uuid",
        "failure",
        "results",
        "revert_results",
        "revert_failure",
        "atom_type",
        "intention",
    },
}


def _json(dialect: str, big: bool = False) -> sa.types.TypeEngine[Any]:
    if dialect == "postgresql":
        return postgresql.JSON()
    if dialect in ("mysql", "mariadb") and big:
        return mysql.LONGTEXT()
    return sa.Text()


def _check_existing(inspector: sa.Inspector, existing: set[str]) -> None:
    for table in sorted(existing):
        columns = {c["name"] for c in inspector.get_columns(table)}
        missing = _REQUIRED[table] - columns
        if missing:
            raise StorageError(
                f"table {table!r} exists but lacks columns {sorted(missing)}: it was made by an older "
                f"TaskFlow; run TaskFlow's own upgrade first "
                f"(taskflow.persistence.backends.fetch(conf).get_connection().upgrade())"
            )
    if "atomdetails" not in existing and "taskdetails" in inspector.get_table_names():
        raise StorageError(
            "the database has TaskFlow's old 'taskdetails' table: run TaskFlow's own upgrade first "
            "(taskflow.persistence.backends.fetch(conf).get_connection().upgrade())"
        )


def upgrade() -> None:
    bind = op.get_bind()
    dialect = bind.dialect.name
    inspector = sa.inspect(bind)
    tables = set(inspector.get_table_names())
    existing = tables & set(_REQUIRED)
    _check_existing(inspector, existing)
    sqlite = dialect == "sqlite"
    options: dict[str, Any] = {"mysql_engine": "InnoDB", "mysql_charset": "utf8mb4"}

    def uuid_column() -> sa.Column[str]:
        return sa.Column("uuid", sa.String(_UUID), primary_key=True, nullable=False)

    def uuid_extra(table: str) -> list[Any]:
        # SQLite: TaskFlow's create_all declares the uuid unique; elsewhere its migrations index it.
        return [sa.UniqueConstraint("uuid")] if sqlite else []

    if "logbooks" not in existing:
        op.create_table(
            "logbooks",
            sa.Column("created_at", sa.DateTime),
            sa.Column("updated_at", sa.DateTime),
            sa.Column("meta", _json(dialect), nullable=True),
            sa.Column("name", sa.String(_NAME), nullable=True),
            uuid_column(),
            *uuid_extra("logbooks"),
            **options,
        )
    if "flowdetails" not in existing:
        op.create_table(
            "flowdetails",
            sa.Column("created_at", sa.DateTime),
            sa.Column("updated_at", sa.DateTime),
            sa.Column("parent_uuid", sa.String(_UUID)),
            sa.Column("meta", _json(dialect, big=True), nullable=True),
            sa.Column("name", sa.String(_NAME), nullable=True),
            sa.Column("state", sa.String(_STATE), nullable=True),
            uuid_column(),
            sa.ForeignKeyConstraint(
                ["parent_uuid"], ["logbooks.uuid"], name="flowdetails_ibfk_1", ondelete="CASCADE"
            ),
            *uuid_extra("flowdetails"),
            **options,
        )
    if "atomdetails" not in existing:
        op.create_table(
            "atomdetails",
            sa.Column("created_at", sa.DateTime),
            sa.Column("updated_at", sa.DateTime),
            sa.Column("meta", _json(dialect), nullable=True),
            sa.Column("parent_uuid", sa.String(_UUID)),
            sa.Column("name", sa.String(_NAME), nullable=True),
            sa.Column("version", sa.String(_VERSION), nullable=True),
            sa.Column("state", sa.String(_STATE), nullable=True),
            uuid_column(),
            sa.Column("failure", _json(dialect, big=True), nullable=True),
            sa.Column("results", _json(dialect, big=True), nullable=True),
            sa.Column("revert_results", _json(dialect), nullable=True),
            sa.Column("revert_failure", _json(dialect, big=True), nullable=True),
            sa.Column("atom_type", sa.Enum("RETRY_DETAIL", "TASK_DETAIL", name="atom_types")),
            sa.Column(
                "intention",
                sa.Enum("EXECUTE", "IGNORE", "REVERT", "RETRY", name="intention_type"),
                server_default="EXECUTE",
            ),
            sa.ForeignKeyConstraint(
                ["parent_uuid"], ["flowdetails.uuid"], name="taskdetails_ibfk_1", ondelete="CASCADE"
            ),
            *uuid_extra("atomdetails"),
            **options,
        )
    if not sqlite:
        unique = dialect in ("mysql", "mariadb")
        for name, table in (
            ("logbook_uuid_idx", "logbooks"),
            ("flowdetails_uuid_idx", "flowdetails"),
            ("taskdetails_uuid_idx", "atomdetails"),
        ):
            if table not in existing:
                op.create_index(name, table, ["uuid"], unique=unique)
    if not existing and not sqlite and "alembic_version" not in tables:
        version = op.create_table(
            "alembic_version",
            sa.Column("version_num", sa.String(32), nullable=False),
            sa.PrimaryKeyConstraint("version_num", name="alembic_version_pkc"),
        )
        op.bulk_insert(version, [{"version_num": _TASKFLOW_HEAD}])


def downgrade() -> None:
    raise NotImplementedError("greenflow never drops TaskFlow's tables (they may hold TaskFlow's data)")
