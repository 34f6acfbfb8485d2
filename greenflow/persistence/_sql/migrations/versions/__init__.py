"""One module per migration; alembic reads ``revision``/``down_revision`` from each."""
