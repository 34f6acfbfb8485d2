"""A SQL query through the SQL backend suspends only its own green thread.

While one green thread waits on the server (``pg_sleep`` through psycopg 3,
``SLEEP`` through PyMySQL), a ticker keeps ticking: the hub was free. Under
the threading hub the same code just has to work. Servers come from
``GREENFLOW_TEST_POSTGRES_URL``/``GREENFLOW_TEST_MYSQL_URL``; an unreachable
one skips its test, saying why.
"""

from __future__ import annotations

import os
import time
from typing import Any

import pytest
from conftest import Ticker  # tests/hubs is not a package: pytest puts its conftest on sys.path

import greenflow
from greenflow.hubs import Hub

pytest.importorskip("sqlalchemy", reason="the SQL backend needs SQLAlchemy: pip install greenflow[sql]")

from greenflow.exceptions import StorageError
from greenflow.persistence._sql import SqlBackend

SERVERS = {
    "postgresql": (
        os.environ.get("GREENFLOW_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"),
        "SELECT pg_sleep(0.5)",
    ),
    "mariadb": (
        os.environ.get("GREENFLOW_TEST_MYSQL_URL", "mysql+pymysql://root@127.0.0.1:3306/test"),
        "SELECT SLEEP(0.5)",
    ),
}


@pytest.mark.parametrize("server", sorted(SERVERS))
def test_sql_query_leaves_the_hub_free(hub: Hub, server: str) -> None:
    url, statement = SERVERS[server]
    backend = SqlBackend({"connection": url})
    try:
        try:
            backend.get_connection()
        except StorageError as exc:
            pytest.skip(f"{server} unreachable: {exc}")
        ticker = Ticker(hub, interval=0.01)
        try:
            hub.sleep(0.05)  # the ticker is running before the query starts
            before = ticker.count
            started = time.monotonic()
            with backend.engine.connect() as conn:
                conn.exec_driver_sql(statement)
            elapsed = time.monotonic() - started
            ticks = ticker.count - before
        finally:
            ticker.stop()
    finally:
        backend.close()
    assert elapsed >= 0.45
    # 0.5 s of 10 ms ticks is ~50; a blocked hub would give 0 or 1.
    assert ticks >= 20, f"only {ticks} ticks during a {elapsed:.2f}s query on {hub.name}"


class _Noop(greenflow.Task):
    def execute(self) -> None:
        pass


@pytest.mark.parametrize("server", ["mariadb", "sqlite"])
def test_a_round_goes_out_in_statements_of_at_most_100_rows_under_a_green_hub(
    hub: Hub, server: str, tmp_path: Any
) -> None:
    # A batched statement's rows are made ready in Python before anything is sent (PyMySQL
    # escapes every value; SQLite's rounds run on the offload thread, holding the lock the
    # hub's thread needs): under a green hub a round's rows go in statements of 100 with a
    # pause between; the threading hub's writer thread sends each table's rows at once.
    from sqlalchemy import event

    url = SERVERS["mariadb"][0] if server == "mariadb" else f"sqlite:///{tmp_path}/rows.db"
    backend = SqlBackend({"connection": url})
    try:
        try:
            backend.get_connection().upgrade()
        except StorageError as exc:
            pytest.skip(f"{server} unreachable: {exc}")
        sizes: list[int] = []

        def count(conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: bool) -> None:
            if many:
                sizes.append(len(params))

        event.listen(backend.engine, "before_cursor_execute", count)
        flows = [greenflow.LinearFlow(f"rows{i}").add(_Noop("a"), _Noop("b")) for i in range(150)]
        summary = greenflow.run_many(flows, backend=backend, hub=hub.name, concurrency=150)
    finally:
        backend.close()
    assert summary.succeeded == 150
    assert sizes, "no batched statement was sent"
    if hub.is_green:
        assert max(sizes) == 100
    else:
        assert max(sizes) > 100
