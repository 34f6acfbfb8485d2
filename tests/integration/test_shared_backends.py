"""A backend named by URL or conf dict is one backend per process and configuration.

``load(flow, backend=URL)`` on each of many engines reuses one backend (one
bounded connection pool), so 1,000 engines naming the same PostgreSQL URL
all run, where one pool per engine made the server refuse connections.
"""

from __future__ import annotations

from typing import Any

import pytest

import greenflow
from greenflow.patterns import LinearFlow
from greenflow.persistence import (
    close_shared_backends,
    fetch_backend,
    shared_backend,
    shared_backends,
)

from .conftest import backend_url_for


class Double(greenflow.Task):
    def execute(self, x: int) -> int:
        return 2 * x


def _flow(i: int) -> LinearFlow:
    return LinearFlow(f"shared-{i}").add(Double("d", provides="y"))


@pytest.fixture
def sqlite_url(request: pytest.FixtureRequest, tmp_path: Any) -> str:
    url = backend_url_for("sqlite", request, tmp_path)
    backend = fetch_backend(url)
    backend.get_connection().upgrade()
    backend.close()
    return url


def test_engines_naming_one_url_share_one_backend(sqlite_url: str) -> None:
    first = greenflow.load(_flow(1), store={"x": 1}, backend=sqlite_url)
    second = greenflow.load(_flow(2), store={"x": 2}, backend={"connection": sqlite_url})
    assert first.storage.backend is second.storage.backend
    assert first.storage.backend is shared_backend(sqlite_url)
    assert first.storage.backend in shared_backends()
    first.run()
    second.run()
    assert first.storage.fetch("y") == 2 and second.storage.fetch("y") == 4


def test_distinct_configurations_get_distinct_backends(sqlite_url: str) -> None:
    plain = shared_backend(sqlite_url)
    tuned = shared_backend({"connection": sqlite_url, "busy_timeout": 5})
    assert plain is not tuned
    assert tuned is shared_backend({"busy_timeout": 5, "connection": sqlite_url})


def test_memory_urls_are_not_shared() -> None:
    # A shared in-memory store would keep every run of the process alive.
    assert shared_backend("memory://") is not shared_backend("memory://")


def test_closing_the_shared_backends_makes_new_ones_on_next_use(sqlite_url: str) -> None:
    before = shared_backend(sqlite_url)
    close_shared_backends()
    assert before not in shared_backends()
    after = shared_backend(sqlite_url)
    assert after is not before
    assert greenflow.run(_flow(3), store={"x": 3}, backend=sqlite_url)["y"] == 6


def test_bad_configuration_is_refused_with_the_reason() -> None:
    with pytest.raises(greenflow.exceptions.InvalidOptionError, match="unknown persistence backend"):
        shared_backend("nosuch://x")
    with pytest.raises(greenflow.exceptions.InvalidOptionError, match="named by a URL or a dict"):
        shared_backend({"path": "/tmp"})


@pytest.mark.timeout(240)
def test_a_thousand_engines_each_given_the_postgresql_url_all_succeed(postgres_url: str) -> None:
    import sqlalchemy

    backend = shared_backend(postgres_url)
    opened: list[object] = []
    sqlalchemy.event.listen(backend.engine, "connect", lambda dbapi_conn, record: opened.append(dbapi_conn))
    backend.get_connection().upgrade()
    engines = [greenflow.load(_flow(i), store={"x": i}, backend=postgres_url) for i in range(1000)]
    assert all(e.storage.backend is backend for e in engines)
    summary = greenflow.run_many(engines, concurrency=1000)
    assert summary.succeeded == 1000, summary.counts
    # Bounded: 1,000 engines never opened more connections than the pool's size and overflow.
    pool = backend.engine.pool
    assert 1 <= len(opened) <= pool.size() + pool._max_overflow
    conn = backend.get_connection()
    assert conn.get_flow_details(engines[999].storage.flow_uuid).state == "SUCCESS"
