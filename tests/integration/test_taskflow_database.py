"""greenflow resumes flows that real TaskFlow started, in TaskFlow's own database.

A child process runs a TaskFlow linear flow (a -> b -> c -> d) on TaskFlow's
SQLAlchemy backend, and is stopped half way: (a) task ``b`` suspends the
engine, (b) the child is SIGKILLed while ``c`` sleeps. The test process then
runs greenflow's ``upgrade()`` on that database (TaskFlow's tables and rows
must survive it), reads the flow detail through greenflow's ``SqlBackend``
and resumes it with a greenflow flow of the same shape. Finished atoms are
not run again, the interrupted one is, the results are right, and TaskFlow
can still read everything afterwards.
"""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("sqlalchemy", reason="the SQL backend needs SQLAlchemy: pip install greenflow[sql]")

import sqlalchemy as sa

import greenflow
from greenflow import states
from greenflow.atoms import Task
from greenflow.patterns import LinearFlow
from greenflow.persistence._sql import SqlBackend

from .conftest import POSTGRES_URL, _ServerDatabase, _with_driver


def _real_taskflow() -> bool:
    # Real TaskFlow, not an adapter providing the same package name: it ships the SQL backend.
    spec = importlib.util.find_spec("taskflow")
    if spec is None or spec.origin is None:
        return False
    return (Path(spec.origin).parent / "persistence" / "backends" / "impl_sqlalchemy.py").exists()


if not _real_taskflow():
    pytest.skip("TaskFlow is not installed here (tox -e taskflow-compat has it)", allow_module_level=True)

# The TaskFlow side, run in a child process: `python -c CHILD URL MODE LOG`.
CHILD = r"""
import json, sys, time, warnings
warnings.filterwarnings("ignore")
from taskflow import engines, task
from taskflow.patterns import linear_flow
from taskflow.persistence import backends

url, mode, log = sys.argv[1:4]
backend = backends.fetch({"connection": url})
ENGINE = []

def note(text):
    with open(log, "a") as f:
        f.write(text + "\n")

class A(task.Task):
    default_provides = "x"
    def execute(self):
        note("a")
        return 1

class B(task.Task):
    default_provides = "y"
    def execute(self, x):
        note("b")
        if mode == "suspend":
            ENGINE[0].suspend()
        return x + 10

class C(task.Task):
    default_provides = "z"
    def execute(self, y):
        note("c")
        if mode == "kill":
            note("c-sleeping")
            time.sleep(60)
        return y * 2

class D(task.Task):
    default_provides = "w"
    def execute(self, z):
        note("d")
        return z + 1

if mode == "read":
    conn = backend.get_connection()
    out = {}
    for book in conn.get_logbooks():
        for fd in book:
            out["flow_state"] = fd.state
            for ad in fd:
                out[ad.name] = [ad.state, ad.results, ad.failure is not None]
    print(json.dumps(out))
    sys.exit(0)

backend.get_connection().upgrade()
flow = linear_flow.Flow("tf-flow").add(A("a"), B("b"), C("c"), D("d"))
engine = engines.load(flow, backend=backend)
ENGINE.append(engine)
engine.run()
note("end:" + engine.storage.get_flow_state())
"""

KINDS = ("sqlite", "postgresql")


@pytest.fixture(params=KINDS)
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/taskflow.db"
        return
    db = _ServerDatabase(POSTGRES_URL, "PostgreSQL")
    db.create()
    if db.url is None:
        pytest.skip(db.skip_reason or "PostgreSQL unavailable")
    if importlib.util.find_spec("psycopg2") is None:
        db.drop()
        pytest.skip("TaskFlow reaches PostgreSQL through psycopg2, which is not installed")
    try:
        yield db.url
    finally:
        db.drop()


def _taskflow_url(url: str) -> str:
    # TaskFlow's default PostgreSQL driver is psycopg2; greenflow's own URL is the same text.
    return url.replace("postgresql+psycopg://", "postgresql://")


def _child(url: str, mode: str, log: Path) -> subprocess.Popen[str]:
    env = dict(os.environ, PYTHONWARNINGS="ignore")
    return subprocess.Popen(
        [sys.executable, "-c", CHILD, _taskflow_url(url), mode, str(log)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _taskflow_read(url: str, tmp_path: Path) -> dict[str, Any]:
    proc = _child(url, "read", tmp_path / "unused.log")
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    return dict(json.loads(out))


def _rows(url: str) -> dict[str, Any]:
    engine = sa.create_engine(_with_driver(url))
    try:
        with engine.connect() as conn:
            return {
                table: sorted(tuple(map(str, row)) for row in conn.execute(sa.text(f"SELECT * FROM {table}")))
                for table in ("logbooks", "flowdetails", "atomdetails")
            }
    finally:
        engine.dispose()


class Step(Task):
    """One greenflow step shaped like the TaskFlow child's, recording that it ran."""

    def __init__(self, name: str, runs: list[str], provides: str) -> None:
        super().__init__(name, provides=provides)
        self.runs = runs


class A(Step):
    def execute(self) -> int:
        self.runs.append(self.name)
        return 1


class B(Step):
    def execute(self, x: int) -> int:
        self.runs.append(self.name)
        return x + 10


class C(Step):
    def execute(self, y: int) -> int:
        self.runs.append(self.name)
        return y * 2


class D(Step):
    def execute(self, z: int) -> int:
        self.runs.append(self.name)
        return z + 1


def _resume_with_greenflow(url: str) -> list[str]:
    backend = SqlBackend({"connection": url})
    try:
        before = _rows(url)
        backend.get_connection().upgrade()
        assert _rows(url) == before, "greenflow's upgrade changed TaskFlow's rows"
        [book] = backend.get_connection().get_logbooks()
        [flow_detail] = list(book)
        runs: list[str] = []
        flow = LinearFlow("tf-flow").add(
            A("a", runs, "x"), B("b", runs, "y"), C("c", runs, "z"), D("d", runs, "w")
        )
        engine = greenflow.load(flow, flow_detail=flow_detail, backend=backend)
        engine.run()
        assert engine.storage.fetch("w") == 23
        return runs
    finally:
        backend.close()


def _wait_for(log: Path, line: str, proc: subprocess.Popen[str], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if log.exists() and line in log.read_text().splitlines():
            return
        if proc.poll() is not None:
            raise AssertionError(f"TaskFlow child ended early: {proc.communicate()}")
        time.sleep(0.02)
    raise AssertionError(f"TaskFlow child never wrote {line!r}")


def _check_taskflow_sees_the_finished_flow(url: str, tmp_path: Path) -> None:
    seen = _taskflow_read(url, tmp_path)
    assert seen["flow_state"] == states.SUCCESS
    assert {name: seen[name] for name in "abcd"} == {
        "a": ["SUCCESS", 1, False],
        "b": ["SUCCESS", 11, False],
        "c": ["SUCCESS", 22, False],
        "d": ["SUCCESS", 23, False],
    }


def test_flow_suspended_by_taskflow_is_finished_by_greenflow(url: str, tmp_path: Path) -> None:
    log = tmp_path / "taskflow.log"
    proc = _child(url, "suspend", log)
    _out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert log.read_text().split() == ["a", "b", "end:SUSPENDED"]

    runs = _resume_with_greenflow(url)

    assert runs == ["c", "d"]
    _check_taskflow_sees_the_finished_flow(url, tmp_path)


def test_flow_killed_under_taskflow_is_resumed_by_greenflow(url: str, tmp_path: Path) -> None:
    log = tmp_path / "taskflow.log"
    proc = _child(url, "kill", log)
    try:
        _wait_for(log, "c-sleeping", proc)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=30)
    assert log.read_text().split() == ["a", "b", "c", "c-sleeping"]

    runs = _resume_with_greenflow(url)

    assert runs == ["c", "d"]  # the interrupted step again, then the rest; a and b are not re-run
    _check_taskflow_sees_the_finished_flow(url, tmp_path)
