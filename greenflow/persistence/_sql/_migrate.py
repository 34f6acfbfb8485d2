"""Running greenflow's alembic migrations (shipped in ``migrations/versions``).

Our revisions are recorded in ``greenflow_alembic_version``, never in
``alembic_version``, which belongs to TaskFlow's own migrations. The
migrations run inside one transaction that first takes a database-wide lock
(PostgreSQL advisory lock, MySQL ``GET_LOCK``, SQLite ``BEGIN IMMEDIATE``),
so two processes upgrading at once run them one after the other.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from greenflow.persistence._sql._schema import HEAD_REVISION, VERSION_TABLE

__all__ = ["current_revision", "head_revision", "known_revisions", "run_upgrade"]

_SCRIPTS: Final = Path(__file__).resolve().parent / "migrations"
# An arbitrary constant naming our upgrade lock (PostgreSQL advisory locks take a bigint).
_PG_LOCK_KEY: Final = 0x67666C6F77  # "gflow"
_MYSQL_LOCK: Final = "greenflow_upgrade"


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(_SCRIPTS))
    return config


def _script() -> ScriptDirectory:
    return ScriptDirectory.from_config(_config())


def head_revision() -> str:
    """The newest revision shipped (checked against ``_schema.HEAD_REVISION`` by the tests)."""
    head = _script().get_current_head()
    return head or HEAD_REVISION


def current_revision(conn: sa.Connection) -> str | None:
    """The revision recorded in ``greenflow_alembic_version`` (``None`` if never upgraded)."""
    context = MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE})
    return context.get_current_revision()


def run_upgrade(conn: sa.Connection, revision: str = "head") -> None:
    """Migrate to ``revision`` on ``conn``, which must be in a transaction the caller commits."""
    dialect = conn.dialect.name
    if dialect == "postgresql":
        conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_PG_LOCK_KEY})")
    elif dialect in ("mysql", "mariadb"):
        conn.exec_driver_sql(f"SELECT GET_LOCK('{_MYSQL_LOCK}', 120)")
    try:
        config = _config()
        config.attributes["connection"] = conn
        command.upgrade(config, revision)
    finally:
        if dialect in ("mysql", "mariadb"):
            conn.exec_driver_sql(f"SELECT RELEASE_LOCK('{_MYSQL_LOCK}')")


def known_revisions() -> frozenset[str]:
    """Every revision shipped."""
    return frozenset(script.revision for script in _script().walk_revisions())
