"""The tables the SQL backend reads and writes, as SQLAlchemy Core table clauses.

``logbooks``, ``flowdetails`` and ``atomdetails`` are TaskFlow's tables, with
TaskFlow's names, column names and encodings (JSON text; native ``json`` on
PostgreSQL), so greenflow and TaskFlow can share one database.
``greenflow_claims`` and ``greenflow_fences`` are ours: TaskFlow's tables carry nothing TaskFlow does
not know. The DDL lives in the migrations (``migrations/versions``); these
clauses only name columns for queries.

JSON and enum columns are left untyped here on purpose: values are bound as
text without a cast, so one statement serves SQLite and MySQL text columns
and PostgreSQL's ``json`` and enum columns alike (the server converts).
"""

from __future__ import annotations

from typing import Final

import sqlalchemy as sa

__all__ = [
    "ATOM_TYPES",
    "CLAIMS",
    "FENCES",
    "HEAD_REVISION",
    "JSON_COLUMNS",
    "TASKFLOW_HEAD_REVISION",
    "TASKFLOW_TABLES",
    "VERSION_TABLE",
    "atomdetails",
    "claims",
    "fences",
    "flowdetails",
    "logbooks",
]

#: Our alembic version table (TaskFlow's own migrations use ``alembic_version``).
VERSION_TABLE: Final = "greenflow_alembic_version"
#: The newest migration shipped in ``migrations/versions``.
HEAD_REVISION: Final = "0005_fences"
#: TaskFlow's newest migration: the schema our first migration creates is that one.
TASKFLOW_HEAD_REVISION: Final = "00af93df9d77"
TASKFLOW_TABLES: Final = ("logbooks", "flowdetails", "atomdetails")
CLAIMS: Final = "greenflow_claims"
FENCES: Final = "greenflow_fences"

#: TaskFlow's ``atom_type`` values, by greenflow detail kind.
ATOM_TYPES: Final[dict[str, str]] = {"task": "TASK_DETAIL", "retry": "RETRY_DETAIL"}
JSON_COLUMNS: Final = ("results", "failure", "revert_results", "revert_failure", "meta")

logbooks = sa.table(
    "logbooks",
    sa.column("uuid", sa.String),
    sa.column("name", sa.String),
    sa.column("meta"),
    sa.column("created_at", sa.DateTime),
    sa.column("updated_at", sa.DateTime),
)

flowdetails = sa.table(
    "flowdetails",
    sa.column("uuid", sa.String),
    sa.column("parent_uuid", sa.String),
    sa.column("name", sa.String),
    sa.column("state", sa.String),
    sa.column("meta"),
    sa.column("created_at", sa.DateTime),
    sa.column("updated_at", sa.DateTime),
)

atomdetails = sa.table(
    "atomdetails",
    sa.column("uuid", sa.String),
    sa.column("parent_uuid", sa.String),
    sa.column("name", sa.String),
    sa.column("atom_type"),
    sa.column("state", sa.String),
    sa.column("intention"),
    sa.column("version", sa.String),
    sa.column("results"),
    sa.column("failure"),
    sa.column("revert_results"),
    sa.column("revert_failure"),
    sa.column("meta"),
    sa.column("created_at", sa.DateTime),
    sa.column("updated_at", sa.DateTime),
)

claims = sa.table(
    CLAIMS,
    sa.column("flow_uuid", sa.String),
    sa.column("owner", sa.String),
    sa.column("claimed_at", sa.DateTime),
)

fences = sa.table(
    FENCES,
    sa.column("name", sa.String),
    sa.column("token", sa.BigInteger),
)
