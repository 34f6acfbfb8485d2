"""Backends for the integration tests: a URL per backend, on real services where there are some.

PostgreSQL and MariaDB are reached through ``GREENFLOW_TEST_POSTGRES_URL`` and
``GREENFLOW_TEST_MYSQL_URL`` (defaults: the local services). Each test session
creates its own database on each server and drops it at the end, so runs
never see each other's records; each test starts from an empty schema
(``clear_all``). A server that cannot be reached skips its tests, saying why.
"""

from __future__ import annotations

import importlib.util
import os
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from support.coordination_servers import (  # noqa: F401 (fixtures)
    etcd_address,
    etcd_board_url,
    zookeeper_board_url,
    zookeeper_hosts,
)

from greenflow.persistence import fetch_backend

POSTGRES_URL = os.environ.get("GREENFLOW_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
MYSQL_URL = os.environ.get("GREENFLOW_TEST_MYSQL_URL", "mysql+pymysql://root@127.0.0.1:3306/test")

BACKENDS = ("memory", "dir", "sqlite", "postgresql", "mariadb", "zookeeper")
SQL_BACKENDS = ("sqlite", "postgresql", "mariadb")


def sql_backend_available() -> bool:
    """Whether the SQL backend and SQLAlchemy can be imported here."""
    return (
        importlib.util.find_spec("sqlalchemy") is not None
        and importlib.util.find_spec("greenflow.persistence._sql") is not None
    )


def _with_driver(url: str) -> str:
    """The URL with an explicit driver for the admin connection (the installed ones)."""
    scheme, sep, rest = url.partition("://")
    if scheme in ("postgresql", "postgres"):
        return f"postgresql+psycopg{sep}{rest}"
    if scheme in ("mysql", "mariadb"):
        return f"mysql+pymysql{sep}{rest}"
    return url


def _replace_database(url: str, name: str) -> str:
    base, _, _query = url.partition("?")
    head, _, _db = base.rpartition("/")
    return f"{head}/{name}" + (f"?{_query}" if _query else "")


class _ServerDatabase:
    """Creates a uniquely named database on a server and drops it afterwards."""

    def __init__(self, admin_url: str, label: str) -> None:
        self.admin_url = admin_url
        self.label = label
        self.name = f"greenflow_test_{uuid.uuid4().hex[:12]}"
        self.url: str | None = None
        self.skip_reason: str | None = None

    def _engine(self) -> Any:
        import sqlalchemy

        return sqlalchemy.create_engine(_with_driver(self.admin_url), isolation_level="AUTOCOMMIT")

    def create(self) -> None:
        if importlib.util.find_spec("sqlalchemy") is None:
            self.skip_reason = "SQLAlchemy is not installed (pip install greenflow[sql])"
            return
        import sqlalchemy

        try:
            engine = self._engine()
            with engine.connect() as conn:
                conn.execute(sqlalchemy.text(f"CREATE DATABASE {self.name}"))
            engine.dispose()
        except Exception as exc:  # any driver error means: this server is not usable here
            self.skip_reason = f"{self.label} at {self.admin_url} is unreachable: {type(exc).__name__}: {exc}"
            return
        self.url = _replace_database(self.admin_url, self.name)

    def drop(self) -> None:
        if self.url is None:
            return
        import sqlalchemy

        engine = self._engine()
        with engine.connect() as conn:
            if self.label == "PostgreSQL":
                conn.execute(sqlalchemy.text(f"DROP DATABASE IF EXISTS {self.name} WITH (FORCE)"))
            else:
                conn.execute(sqlalchemy.text(f"DROP DATABASE IF EXISTS {self.name}"))
        engine.dispose()


def _session_database(server_url: str, label: str) -> Iterator[str]:
    """Create a fresh database on a server for the session, yield its URL, drop it after."""
    db = _ServerDatabase(server_url, label)
    db.create()
    if db.url is None:
        pytest.skip(db.skip_reason or f"{label} unavailable")
    try:
        yield db.url
    finally:
        db.drop()


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this session (skips if the server is unreachable)."""
    yield from _session_database(POSTGRES_URL, "PostgreSQL")


@pytest.fixture(scope="session")
def mysql_url() -> Iterator[str]:
    """A fresh MariaDB/MySQL database for this session (skips if the server is unreachable)."""
    yield from _session_database(MYSQL_URL, "MariaDB")


def backend_url_for(kind: str, request: pytest.FixtureRequest, tmp_path: Any) -> str:
    """The URL of a fresh, empty store of backend ``kind`` for one test."""
    if kind == "memory":
        return "memory://"
    if kind == "dir":
        return f"dir://{tmp_path}/store"
    if kind == "zookeeper":
        hosts = request.getfixturevalue("zookeeper_hosts")
        return f"zookeeper://{hosts}/greenflow-test/{uuid.uuid4().hex[:12]}?timeout=5"
    if not sql_backend_available():
        pytest.skip("the SQL backend (greenflow.persistence._sql) is not available in this checkout")
    if kind == "sqlite":
        return f"sqlite:///{tmp_path}/greenflow.db"
    if kind == "postgresql":
        return str(request.getfixturevalue("postgres_url"))
    return str(request.getfixturevalue("mysql_url"))


@pytest.fixture(params=BACKENDS)
def backend_kind(request: pytest.FixtureRequest) -> str:
    """The name of the backend a contract test runs on."""
    return str(request.param)


@pytest.fixture
def backend_url(backend_kind: str, request: pytest.FixtureRequest, tmp_path: Any) -> str:
    """A URL for an empty store of the backend under test."""
    return backend_url_for(backend_kind, request, tmp_path)


@pytest.fixture
def open_backend(backend_kind: str, backend_url: str) -> Iterator[Callable[[], Any]]:
    """Opens the store under test; each call gives a new backend object on the same records.

    The memory backend's records live in its object, so "reopening" it gives
    the same object back.
    """
    opened: list[Any] = []

    def opener() -> Any:
        if backend_kind == "memory" and opened:
            return opened[0]
        backend = fetch_backend(backend_url)
        conn = backend.get_connection()
        conn.upgrade()
        if not opened:
            conn.clear_all()  # server databases are shared by the session's tests
        opened.append(backend)
        return backend

    yield opener
    for backend in opened:
        backend.close()


def execute_sql(url: str, statement: str, **params: Any) -> None:
    """Run one statement on the database behind ``url`` (to damage rows on purpose)."""
    import sqlalchemy

    engine = sqlalchemy.create_engine(_with_driver(url))
    try:
        with engine.begin() as conn:
            conn.execute(sqlalchemy.text(statement), params)
    finally:
        engine.dispose()


REDIS_URL = os.environ.get("GREENFLOW_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


@pytest.fixture
def redis_board_url() -> Iterator[str]:
    """A jobboard URL on the shared Redis with a namespace of its own (skips if Redis is unreachable).

    Never flushes anything: each test's keys live under a fresh namespace, removed afterwards.
    """
    if importlib.util.find_spec("redis") is None:
        pytest.skip("the redis client is not installed (pip install greenflow[redis])")
    import redis

    base = REDIS_URL.partition("?")[0]
    try:
        redis.Redis.from_url(base, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        pytest.skip(f"Redis at {base} is unreachable: {exc}")
    namespace = f"greenflow-test-{uuid.uuid4().hex[:12]}"
    yield f"{base}?namespace={namespace}"
    client = redis.Redis.from_url(base)
    keys = list(client.scan_iter(match=f"{namespace}:*", count=1000))
    if keys:
        client.delete(*keys)
    client.close()
