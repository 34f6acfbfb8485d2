"""Faults injected into real services: connections cut, terminated or killed, a disk filling up.

Only this test session's own connections and databases are touched: the
PostgreSQL and MariaDB databases are the session's own (conftest), a link to a
server is cut through a TCP proxy (``support.tcp_proxy``) rather than by
stopping the shared server. Each fault must end in a resumable record or a
defined failure: nothing lost, no finished atom run twice, no hang.
"""

from __future__ import annotations

import time
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


# -- connections killed by the server -----------------------------------------------------------


def _kill_own_connections(url: str) -> None:
    """Terminate every connection to this session's own database but the one doing it."""
    import sqlalchemy as sa

    from .conftest import _with_driver

    engine = sa.create_engine(_with_driver(url), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            if url.startswith("postgres"):
                conn.execute(
                    sa.text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                    )
                )
            else:
                ids = conn.execute(
                    sa.text(
                        "SELECT id FROM information_schema.processlist "
                        "WHERE db = DATABASE() AND id <> CONNECTION_ID()"
                    )
                ).scalars()
                for connection_id in list(ids):
                    conn.execute(sa.text(f"KILL CONNECTION {int(connection_id)}"))
    finally:
        engine.dispose()


@pytest.fixture(params=["postgresql", "mariadb"])
def server_url(request: pytest.FixtureRequest) -> str:
    return str(request.getfixturevalue("postgres_url" if request.param == "postgresql" else "mysql_url"))


@pytest.mark.timeout(60)
def test_connections_killed_between_runs_do_not_fail_the_next_run(server_url):
    backend = fetch_backend(server_url)
    backend.get_connection().upgrade()
    runs: list[str] = []
    greenflow.load(_steps(runs), backend=backend).run()
    _kill_own_connections(server_url)  # the pooled connections are dead now
    time.sleep(1.2)  # idle long enough to be pinged before use
    engine = greenflow.load(_steps(runs), backend=backend)
    engine.run()
    backend.close()
    assert runs == ["s1", "s2", "s3"] * 2
    assert _stored(server_url, engine.storage.flow_uuid)["flow"] == (states.SUCCESS, None)


@pytest.mark.timeout(60)
def test_connections_killed_mid_run_end_in_a_resumable_record(server_url):
    backend = fetch_backend(server_url)
    backend.get_connection().upgrade()
    runs: list[str] = []
    engine = greenflow.load(_steps(runs, fault=lambda: _kill_own_connections(server_url)), backend=backend)
    try:
        engine.run()  # the save after the kill may go through on a new connection, or fail
    except StorageError:
        pass
    backend.close()
    backend = fetch_backend(server_url)
    detail = backend.get_connection().get_flow_details(engine.storage.flow_uuid)
    resumed: list[str] = []
    greenflow.load(_steps(resumed), flow_detail=detail, backend=backend).run()
    backend.close()
    finished_before = [name for name in runs if name not in resumed]
    assert sorted(finished_before + resumed) == sorted(set(runs) | set(resumed))  # nothing ran twice after
    done = {"flow": (states.SUCCESS, None)} | {s: (states.SUCCESS, f"{s}-done") for s in ("s1", "s2", "s3")}
    assert _stored(server_url, engine.storage.flow_uuid) == done


# -- a full disk --------------------------------------------------------------------------------

_DISK_FULL_CHILD = """
import resource, signal, sys
# SIGXFSZ would kill this process: ignore it so the write fails with EFBIG instead.
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
sys.path[:0] = [{tests!r}, {root!r}]
import greenflow
from greenflow.exceptions import StorageError
from integration.test_faults import Step, _steps

def fill_disk():
    # From here on no file may grow past a few bytes: writes fail as on a full disk (EFBIG).
    resource.setrlimit(resource.RLIMIT_FSIZE, (64, resource.RLIM_INFINITY))

runs = []
engine = greenflow.load(_steps(runs, fault=fill_disk), backend={url!r})
try:
    engine.run()
except StorageError as exc:
    print("STORAGE-ERROR", engine.storage.flow_uuid, exc)
else:
    print("NO-ERROR", engine.storage.flow_uuid)
"""


@pytest.mark.timeout(60)
def test_a_full_disk_fails_the_dir_backend_run_with_storage_error_and_the_record_resumes(tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    tests = Path(__file__).resolve().parents[1]
    url = f"dir://{tmp_path}/store"
    code = _DISK_FULL_CHILD.format(tests=str(tests), root=str(tests.parent), url=url)
    # No preexec_fn: it makes subprocess fork, and eventlet (imported by earlier tests in this
    # process) warns at every fork, which the test settings turn into an error.
    child = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=50)
    assert child.returncode == 0, child.stderr
    verdict, flow_uuid, *_ = child.stdout.split()
    assert verdict == "STORAGE-ERROR", child.stdout
    backend = fetch_backend(url)
    detail = backend.get_connection().get_flow_details(flow_uuid)
    assert {a.name: a.state for a in detail}["s1"] == states.SUCCESS  # what was written is intact
    resumed: list[str] = []
    greenflow.load(_steps(resumed), flow_detail=detail, backend=backend).run()
    assert resumed == ["s2", "s3"]
    assert _stored(url, flow_uuid)["flow"] == (states.SUCCESS, None)
