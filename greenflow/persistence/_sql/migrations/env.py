"""alembic's entry point for greenflow's migrations: run them on the connection given.

``_migrate.run_upgrade`` passes an open connection in
``config.attributes["connection"]``; the revisions go to greenflow's own
version table so TaskFlow's ``alembic_version`` is never touched.
"""

from __future__ import annotations

from alembic import context

from greenflow.persistence._sql._schema import VERSION_TABLE

connection = context.config.attributes["connection"]
context.configure(connection=connection, version_table=VERSION_TABLE)
with context.begin_transaction():
    context.run_migrations()
