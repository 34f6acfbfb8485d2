"""The SQL persistence backend: TaskFlow's tables on SQLite, PostgreSQL or MySQL/MariaDB.

``SqlBackend({'connection': URL})`` reads and writes the ``logbooks``,
``flowdetails`` and ``atomdetails`` tables exactly as TaskFlow does, so
greenflow can run, and resume, flows in a database TaskFlow uses. The
schema is managed by alembic migrations shipped here (``migrations/``),
versioned in ``greenflow_alembic_version``; ``greenflow db upgrade URL`` or
``backend.get_connection().upgrade()`` applies them. See ``_backend`` for
URLs, options, costs and behaviour under green threads.
"""

from greenflow.persistence._sql._backend import SqlBackend, SqlConnection, normalise_url

__all__ = ["SqlBackend", "SqlConnection", "normalise_url"]
