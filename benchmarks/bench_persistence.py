"""Persistence cost: atoms recorded per second, greenflow against TaskFlow, in one run.

Usage: ``python benchmarks/bench_persistence.py [--quick] [--postgres-url URL]``

Prints one JSON line per measurement, then a Markdown table. ``--quick``
uses small sizes (a smoke test of this script, not a measurement).

Measurements:

* ``persisted_atoms``: one engine runs a linear flow of ``n`` no-op tasks
  (5,000 by default) recording every transition (two per task: RUNNING and
  SUCCESS) to SQLite and to PostgreSQL. ``atoms_per_s`` counts tasks run and
  recorded per second of ``engine.run()``; ``load_s`` is the untimed
  load+prepare, in which every atom detail is stored once.
* The same flow with TaskFlow's SQLAlchemy backend, where TaskFlow is
  installed: on its own SQLite file and its own database on the same
  PostgreSQL server (both projects use the table names ``logbooks``,
  ``flowdetails`` and ``atomdetails``, so each gets an empty store), and the
  ``ratio`` of greenflow's rate to TaskFlow's.
* ``many_engines``: in a child process patched by gevent first, ``n``
  engines (1,000 by default) of three tasks each run at once through
  ``greenflow.run_many``, all recording to one PostgreSQL backend; a ticker
  green thread sleeps 1 ms in a loop and reports the longest it overslept
  (``max_stall_ms``): the longest the hub was blocked, by a driver call or
  anything else.

PostgreSQL is ``--postgres-url`` or ``GREENFLOW_TEST_POSTGRES_URL`` (default
``postgresql://postgres@127.0.0.1:5432/test``); the script creates its own
databases there and drops them at the end. If the server cannot be reached,
its measurements are replaced by a record with ``skipped`` and the reason.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import uuid
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# Runnable from a checkout without installing: ``python benchmarks/bench_persistence.py``.
_ROOT = Path(__file__).resolve().parents[1]
if str(_ROOT) not in sys.path:
    sys.path.insert(0, str(_ROOT))

DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"


@dataclass(frozen=True)
class Sizes:
    """How much work each measurement does."""

    tasks: int
    taskflow_tasks: int
    engines: int


FULL = Sizes(tasks=5000, taskflow_tasks=5000, engines=1000)
QUICK = Sizes(tasks=200, taskflow_tasks=100, engines=50)


def emit(record: dict[str, Any]) -> dict[str, Any]:
    print(json.dumps(record), flush=True)
    return record


# -- databases --------------------------------------------------------------------------------


def _admin_url(url: str) -> str:
    scheme, sep, rest = url.partition("://")
    return f"postgresql+psycopg{sep}{rest}" if scheme in ("postgresql", "postgres") else url


def _with_database(url: str, name: str) -> str:
    base, _, query = url.partition("?")
    return f"{base.rpartition('/')[0]}/{name}" + (f"?{query}" if query else "")


@contextlib.contextmanager
def postgres_database(url: str, label: str) -> Iterator[str]:
    """A fresh database on the server of ``url`` (dropped afterwards); yields its URL."""
    import sqlalchemy

    name = f"greenflow_bench_{label}_{uuid.uuid4().hex[:8]}"
    admin = sqlalchemy.create_engine(_admin_url(url), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sqlalchemy.text(f"CREATE DATABASE {name}"))
        yield _with_database(url, name)
    finally:
        with contextlib.suppress(Exception), admin.connect() as conn:
            conn.execute(sqlalchemy.text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()


def postgres_problem(url: str) -> str | None:
    """Why PostgreSQL at ``url`` cannot be used, or ``None``."""
    try:
        import sqlalchemy

        engine = sqlalchemy.create_engine(_admin_url(url))
        try:
            with engine.connect() as conn:
                conn.execute(sqlalchemy.text("SELECT 1"))
        finally:
            engine.dispose()
    except Exception as exc:  # any driver or import error: the server is not usable here
        return f"PostgreSQL at {url} is unreachable: {type(exc).__name__}: {exc}"
    return None


# -- one engine, n tasks ----------------------------------------------------------------------


def greenflow_persisted(url: str, n: int, backend_name: str) -> dict[str, Any]:
    """One greenflow engine runs ``n`` no-op tasks, recording through the backend at ``url``."""
    import greenflow
    from greenflow.persistence import fetch_backend

    class Noop(greenflow.Task):
        def execute(self) -> None:
            return None

    backend = fetch_backend(url)
    try:
        backend.get_connection().upgrade()
        flow = greenflow.LinearFlow("bench").add(*(Noop(f"t{i}") for i in range(n)))
        started = time.perf_counter()
        engine = greenflow.load(flow, backend=backend)
        engine.prepare()
        loaded = time.perf_counter()
        engine.run()
        elapsed = time.perf_counter() - loaded
        state = engine.storage.get_flow_state()
        recorded = backend.get_connection().get_flow_details(engine.storage.flow_uuid)
        succeeded = sum(1 for a in recorded if a.state == "SUCCESS")
    finally:
        backend.close()
    return {
        "bench": "persisted_atoms",
        "impl": "greenflow",
        "backend": backend_name,
        "tasks": n,
        "load_s": round(loaded - started, 4),
        "run_s": round(elapsed, 4),
        "atoms_per_s": round(n / elapsed, 1),
        "state": state,
        "recorded_success": succeeded,
    }


def taskflow_persisted(url: str, n: int, backend_name: str) -> dict[str, Any]:
    """TaskFlow's engine on the same work, with its SQLAlchemy backend at ``url``."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # TaskFlow imports eventlet, which warns on import
        from taskflow import engines, task
        from taskflow.patterns import linear_flow
        from taskflow.persistence import backends, models

        class Noop(task.Task):  # type: ignore[misc]
            def execute(self) -> None:
                return None

        backend = backends.fetch({"connection": url})
        try:
            with contextlib.closing(backend.get_connection()) as conn:
                conn.upgrade()
            flow = linear_flow.Flow("bench").add(*(Noop(f"t{i}") for i in range(n)))
            book = models.LogBook("bench")
            started = time.perf_counter()
            engine = engines.load(flow, book=book, backend=backend)
            engine.compile()
            engine.prepare()
            loaded = time.perf_counter()
            engine.run()
            elapsed = time.perf_counter() - loaded
            state = engine.storage.get_flow_state()
        finally:
            backend.close()
    return {
        "bench": "persisted_atoms",
        "impl": "taskflow",
        "backend": backend_name,
        "tasks": n,
        "load_s": round(loaded - started, 4),
        "run_s": round(elapsed, 4),
        "atoms_per_s": round(n / elapsed, 1),
        "state": state,
    }


def taskflow_problem() -> str | None:
    """Why TaskFlow's SQL backend cannot run here, or ``None``."""
    try:
        with warnings.catch_warnings():
            # TaskFlow imports eventlet, which warns on import that it is deprecated.
            warnings.simplefilter("ignore")
            importlib.import_module("taskflow.engines")
            importlib.import_module("taskflow.persistence.backends.impl_sqlalchemy")
    except Exception as exc:  # ImportError, or a TaskFlow that does not work here
        return f"TaskFlow is not usable here: {type(exc).__name__}: {exc}"
    return None


# -- many engines under gevent ----------------------------------------------------------------


def many_engines_child(url: str, n: int) -> int:
    """In a fresh process: patch gevent, run ``n`` persisted engines at once, print one JSON line."""
    import greenflow.hubs

    greenflow.hubs.patch("gevent")
    import greenflow
    from greenflow.hubs import get_hub
    from greenflow.persistence import fetch_backend

    hub = get_hub("gevent")

    class Step(greenflow.Task):
        def execute(self, x: int) -> int:
            hub.sleep(0)  # a task that waits on something, as real ones do
            return x + 1

    def make_flow(i: int) -> Any:
        return greenflow.LinearFlow(f"many{i}").add(
            Step("a", provides="y", rebind={"x": "x"}),
            Step("b", provides="z", rebind={"x": "y"}),
            Step("c", provides="w", rebind={"x": "z"}),
        )

    backend = fetch_backend(url)
    backend.get_connection().upgrade()
    started = time.perf_counter()
    engines = [
        greenflow.load(make_flow(i), store={"x": i}, backend=backend, engine="parallel", hub="gevent")
        for i in range(n)
    ]
    loaded = time.perf_counter()

    stall = [0.0]
    ticking = [True]

    def ticker() -> None:
        while ticking[0]:
            before = time.perf_counter()
            hub.sleep(0.001)
            late = time.perf_counter() - before - 0.001
            if late > stall[0]:
                stall[0] = late

    tick = hub.spawn(ticker)
    hub.sleep(0.01)
    stall[0] = 0.0  # measure the run only
    run_started = time.perf_counter()
    summary = greenflow.run_many(engines, concurrency=n, hub="gevent")
    elapsed = time.perf_counter() - run_started
    ticking[0] = False
    tick.join(1)
    ok = sum(1 for e in engines if e.storage.get_flow_state() == "SUCCESS")
    backend.close()
    print(
        json.dumps(
            {
                "bench": "many_engines",
                "impl": "greenflow-gevent",
                "backend": "postgresql",
                "engines": n,
                "atoms": 3 * n,
                "succeeded": ok,
                "counts": dict(summary.counts),
                "load_s": round(loaded - started, 4),
                "run_s": round(elapsed, 4),
                "atoms_per_s": round(3 * n / elapsed, 1),
                "max_stall_ms": round(stall[0] * 1000, 2),
            }
        ),
        flush=True,
    )
    return 0


def many_engines(url: str, n: int) -> dict[str, Any]:
    """Run ``many_engines_child`` in a fresh process (it must patch before importing anything)."""
    env = dict(os.environ)
    env.pop("GREENFLOW_HUB", None)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(_ROOT), env.get("PYTHONPATH")]))
    cmd = [sys.executable, str(Path(__file__).resolve()), "--many-engines-child", url, str(n)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=900, env=env)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or not lines:
        return {
            "bench": "many_engines",
            "impl": "greenflow-gevent",
            "backend": "postgresql",
            "error": f"child exited with {proc.returncode}: {proc.stderr.strip()[-800:]}",
        }
    return dict(json.loads(lines[-1]))


# -- report -----------------------------------------------------------------------------------


def markdown(records: list[dict[str, Any]]) -> str:
    rows = [
        "| measurement | impl | backend | size | run s | atoms/s | notes |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in records:
        if r["bench"] == "ratio":
            rows.append(
                f"| ratio greenflow/TaskFlow | - | {r['backend']} | {r['tasks']}/{r['taskflow_tasks']} | "
                f"- | - | x{r['ratio']} (atoms/s) |"
            )
            continue
        size = r.get("tasks", r.get("engines", "-"))
        note = r.get("skipped") or r.get("error") or ""
        if "max_stall_ms" in r:
            note = f"max hub stall {r['max_stall_ms']} ms; {r['succeeded']}/{r['engines']} succeeded"
        rows.append(
            f"| {r['bench']} | {r.get('impl', '-')} | {r.get('backend', '-')} | {size} | "
            f"{r.get('run_s', '-')} | {r.get('atoms_per_s', '-')} | {note} |"
        )
    return "\n".join(rows)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke test, not a measurement")
    parser.add_argument("--postgres-url", default=None, help="PostgreSQL server URL (a database is made)")
    parser.add_argument(
        "--taskflow-tasks",
        type=int,
        default=None,
        help="tasks in TaskFlow's run (default: as many as greenflow's; TaskFlow records about "
        "ten atoms a second, so 5,000 take minutes per backend)",
    )
    parser.add_argument("--many-engines-child", nargs=2, metavar=("URL", "N"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.many_engines_child:
        url, n = args.many_engines_child
        return many_engines_child(url, int(n))

    sizes = QUICK if args.quick else FULL
    if args.taskflow_tasks is not None:
        sizes = Sizes(sizes.tasks, args.taskflow_tasks, sizes.engines)
    pg_url = args.postgres_url or os.environ.get("GREENFLOW_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL)
    emit(
        {
            "bench": "environment",
            "python": platform.python_version(),
            "platform": platform.platform(),
            "quick": args.quick,
        }
    )
    records: list[dict[str, Any]] = []
    tf_problem = taskflow_problem()
    pg_problem = postgres_problem(pg_url)

    def compare(backend_name: str, gf_url: str, tf_url: str | None) -> None:
        gf = emit(greenflow_persisted(gf_url, sizes.tasks, backend_name))
        records.append(gf)
        if tf_url is None or tf_problem is not None:
            records.append(
                emit(
                    {
                        "bench": "persisted_atoms",
                        "impl": "taskflow",
                        "backend": backend_name,
                        "skipped": tf_problem,
                    }
                )
            )
            return
        tf = emit(taskflow_persisted(tf_url, sizes.taskflow_tasks, backend_name))
        records.append(tf)
        # Rates are compared: both engines cost the same per atom at any flow length
        # (each transition is one write), so sizes may differ when TaskFlow's is cut short.
        ratio = round(gf["atoms_per_s"] / tf["atoms_per_s"], 2)
        records.append(
            emit(
                {
                    "bench": "ratio",
                    "backend": backend_name,
                    "tasks": sizes.tasks,
                    "taskflow_tasks": sizes.taskflow_tasks,
                    "ratio": ratio,
                }
            )
        )

    with tempfile.TemporaryDirectory(prefix="greenflow-bench-") as tmp:
        compare("sqlite", f"sqlite:///{tmp}/greenflow.db", f"sqlite:///{tmp}/taskflow.db")

    if pg_problem is not None:
        for bench in ("persisted_atoms", "many_engines"):
            records.append(emit({"bench": bench, "backend": "postgresql", "skipped": pg_problem}))
    else:
        with postgres_database(pg_url, "gf") as gf_url:
            if tf_problem is None:
                with postgres_database(pg_url, "tf") as tf_url:
                    compare("postgresql", gf_url, tf_url)
            else:
                compare("postgresql", gf_url, None)
        with postgres_database(pg_url, "many") as many_url:
            records.append(emit(many_engines(many_url, sizes.engines)))

    print()
    print(markdown(records))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
