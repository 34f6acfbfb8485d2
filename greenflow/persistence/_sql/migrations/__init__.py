"""greenflow's alembic migrations, versioned in ``greenflow_alembic_version`` (see ``_migrate``)."""
