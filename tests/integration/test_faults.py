"""Faults injected into real services: connections cut, terminated or killed, a disk filling up.

Only this test session's own connections and databases are touched: the
PostgreSQL and MariaDB databases are the session's own (conftest), a link to a
server is cut through a TCP proxy (``support.tcp_proxy``) rather than by
stopping the shared server. Each fault must end in a resumable record or a
defined failure: nothing lost, no finished atom run twice, no hang.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
from support.tcp_proxy import TcpProxy

import greenflow
from greenflow import states
from greenflow.atoms import Task
from greenflow.exceptions import StorageError
from greenflow.patterns import LinearFlow
from greenflow.persistence import fetch_backend

from .conftest import sql_backend_available

pytestmark = pytest.mark.skipif(not sql_backend_available(), reason="the SQL backend is not available")


class Step(Task):
    """Appends its name to ``runs``; calls ``then()`` (the fault) after its body when given."""

    def __init__(self, name: str, runs: list[str], then: Any = None) -> None:
        super().__init__(name, provides=name)
        self.runs = runs
        self.then = then

    def execute(self) -> str:
        self.runs.append(self.name)
        if self.then is not None:
            fault, self.then = self.then, None  # once: the run after the fault goes through
            fault()
        return f"{self.name}-done"


def _steps(runs: list[str], fault: Any = None) -> LinearFlow:
    return LinearFlow("faulty").add(Step("s1", runs), Step("s2", runs, fault), Step("s3", runs))


def _through(url: str, proxy: TcpProxy) -> str:
    parts = urlsplit(url)
    netloc = parts.netloc.rsplit("@", 1)
    host = f"127.0.0.1:{proxy.port}"
    return urlunsplit(parts._replace(netloc=f"{netloc[0]}@{host}" if len(netloc) == 2 else host))


@pytest.fixture
def postgres_proxy(postgres_url: str) -> Iterator[tuple[TcpProxy, str]]:
    parts = urlsplit(postgres_url)
    with TcpProxy(parts.hostname or "127.0.0.1", parts.port or 5432) as proxy:
        yield proxy, _through(postgres_url, proxy)


def _stored(url: str, flow_uuid: str) -> dict[str, tuple[str, Any]]:
    backend = fetch_backend(url)
    try:
        detail = backend.get_connection().get_flow_details(flow_uuid)
        return {"flow": (detail.state, None), **{a.name: (a.state, a.results) for a in detail}}
    finally:
        backend.close()


@pytest.mark.timeout(60)
def test_run_again_after_a_failed_save_runs_from_what_is_stored(postgres_proxy):
    proxy, url = postgres_proxy
    backend = fetch_backend(url)
    backend.get_connection().upgrade()
    runs: list[str] = []
    engine = greenflow.load(_steps(runs, fault=proxy.cut), backend=backend)
    with pytest.raises(StorageError):
        engine.run()  # s2's result cannot be saved: the database is out of reach
    assert runs == ["s1", "s2"]
    proxy.restore()
    engine.run()
    assert runs == ["s1", "s2", "s2", "s3"]  # s2 was left RUNNING in the record: it runs again
    backend.close()
    done = {"flow": (states.SUCCESS, None)} | {s: (states.SUCCESS, f"{s}-done") for s in ("s1", "s2", "s3")}
    assert _stored(url, engine.storage.flow_uuid) == done
    # A fresh load of the record has nothing left to run.
    backend = fetch_backend(url)
    detail = backend.get_connection().get_flow_details(engine.storage.flow_uuid)
    again: list[str] = []
    greenflow.load(_steps(again), flow_detail=detail, backend=backend).run()
    backend.close()
    assert again == []
