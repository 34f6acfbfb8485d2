"""Group commit: many green engines recording to one database, against the naive floor, in one run.

Usage: ``python benchmarks/bench_group_commit.py [--quick] [--engines N] [--backends KINDS]
[--hub gevent|eventlet] [--taskflow-engines N] [--taskflow-python PATH]``
(``KINDS``: comma-separated, of ``memory,postgresql,mariadb,sqlite``, the default).

For each database, in a child process patched first by gevent (``--hub eventlet``:
by eventlet; TaskFlow's row is eventlet's either way):

* ``greenflow``: ``run_many`` runs N engines of ``linear(A, unordered(B, C, D), E)``
  (10 ms tasks, a new flow per engine) recording to one shared backend; a
  ticker green thread sleeping 1 ms reports the longest it overslept
  (``max_stall_ms``: how long the hub was kept from it); the writer's rounds.
  ``max_gc_pause_ms`` is the garbage collector's longest pause meanwhile (it
  stops every green thread alike) and ``max_stall_outside_gc_ms`` the longest
  oversleep less the collector's pauses in it: what the engines, the writer
  and the drivers kept the hub for.
* ``greenflow-quiet``: the same, set up for short stalls as the README says:
  ``gc.freeze()`` after the warm-up (what start-up made is never scanned
  again) and ``run_many(..., defer_full_gc=True)``.
* ``memory``: the same engines recording nowhere (no database), so the stall
  and speed of the engines themselves show beside the databases'.
* ``naive-floor``: N green threads doing the same sleeps and the same
  commits one transition at a time (10 single-row commits each: RUNNING and
  SUCCESS of five atoms; a 90-connection pool, 1 for SQLite).
* ``batched-insert-limit``: the database's own limit here: 10 rows per
  engine inserted in 100-row statements, one transaction each, as fast as
  one connection goes; ``engines_per_s`` is rows/s / 10.

* ``taskflow``: TaskFlow 6.5 on the same work where it runs (SQLite and
  PostgreSQL): ``--taskflow-engines`` engines (default 100: it is slow),
  each ``engines.load(flow, backend=..., engine='parallel', executor=...)``
  on one shared futurist ``GreenThreadPoolExecutor``, in eventlet green
  threads (psycopg2 made green by psycogreen), one shared SQLAlchemy backend
  with a 90-connection pool. TaskFlow and greenflow both provide ``taskflow``,
  so it runs from its own virtual environment: ``--taskflow-python``,
  ``GREENFLOW_BENCH_TASKFLOW_PYTHON`` or ``.venv-taskflow/bin/python`` in the
  checkout (``python -m venv .venv-taskflow && .venv-taskflow/bin/pip
  install taskflow==6.5.0 eventlet alembic psycopg2-binary psycogreen``);
  without one the row says it was skipped. ``ratio`` then also gives
  greenflow's engines/s over TaskFlow's (``x_taskflow``).

Every run is warmed up first (one engine, or one floor workflow: imports,
first connections). ``max_gc_pause_ms`` is the longest pause of Python's
garbage collector during the run: it stops the whole hub, database or not.
``ratio_wall_vs_floor`` is greenflow's wall over the floor's (the target is
<= 0.5). Servers come from ``GREENFLOW_TEST_POSTGRES_URL`` and
``GREENFLOW_TEST_MYSQL_URL``; each run makes its own database and drops it.
Prints JSON lines, then a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import textwrap
import time
import uuid
from pathlib import Path
from typing import Any

_ROOT = Path(__file__).resolve().parents[1]
if str(_ROOT) not in sys.path:
    sys.path.insert(0, str(_ROOT))

from bench_jobs import taskflow_python  # noqa: E402  (this script's folder is on sys.path)

POSTGRES = os.environ.get("GREENFLOW_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
MYSQL = os.environ.get("GREENFLOW_TEST_MYSQL_URL", "mysql+pymysql://root@127.0.0.1:3306/test")
TASK_S = 0.01
#: The green hub of greenflow's and the floor's runs (``--hub``; the children read it from here).
_HUB_ENV = "GREENFLOW_BENCH_GROUP_COMMIT_HUB"
_HUB = os.environ.get(_HUB_ENV, "gevent")
#: Where TaskFlow's row runs: its SQL backend on these (MariaDB needs its own driver setup).
TASKFLOW_KINDS = ("sqlite", "postgresql")


def _driver_url(url: str) -> str:
    scheme, sep, rest = url.partition("://")
    if scheme in ("postgresql", "postgres"):
        return f"postgresql+psycopg{sep}{rest}"
    if scheme in ("mysql", "mariadb"):
        return f"mysql+pymysql{sep}{rest}"
    return url


def _with_database(url: str, name: str) -> str:
    base, _, query = url.partition("?")
    return f"{base.rpartition('/')[0]}/{name}" + (f"?{query}" if query else "")


class Database:
    """A fresh database on a server (dropped on exit), or a SQLite file in a temporary directory."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.name = f"greenflow_gc_{uuid.uuid4().hex[:8]}"
        self._tmp: Any = None
        self.url = ""

    def __enter__(self) -> Database:
        if self.kind == "sqlite":
            self._tmp = tempfile.TemporaryDirectory(prefix="greenflow-gc-")
            self.url = f"sqlite:///{self._tmp.name}/bench.db"
            return self
        import sqlalchemy

        server = POSTGRES if self.kind == "postgresql" else MYSQL
        admin = sqlalchemy.create_engine(_driver_url(server), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(sqlalchemy.text(f"CREATE DATABASE {self.name}"))
        admin.dispose()
        self.url = _with_database(server, self.name)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._tmp is not None:
            self._tmp.cleanup()
            return
        import sqlalchemy

        server = POSTGRES if self.kind == "postgresql" else MYSQL
        admin = sqlalchemy.create_engine(_driver_url(server), isolation_level="AUTOCOMMIT")
        force = " WITH (FORCE)" if self.kind == "postgresql" else ""
        with admin.connect() as conn:
            conn.execute(sqlalchemy.text(f"DROP DATABASE IF EXISTS {self.name}{force}"))
        admin.dispose()


# -- in the child (gevent patched first) ------------------------------------------------------


def _ticker(hub: Any) -> tuple[list[float], list[bool]]:
    """A green thread sleeping 1 ms: ``stall[0]`` is the longest it overslept, ``stall[1]`` the
    longest pause of Python's garbage collector meanwhile (it stops every green thread alike),
    ``stall[2]`` the longest it overslept less the collector's pauses within that sleep: how
    long the engines, the writer and the drivers kept the hub (the hub waiting on a database
    shows there)."""
    import gc

    stall, ticking = [0.0, 0.0, 0.0], [True]
    started = [0.0]
    collecting = [0.0]  # the collector's pauses so far, in all

    def collector(phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            started[0] = time.perf_counter()
        elif ticking[0]:
            pause = time.perf_counter() - started[0]
            collecting[0] += pause
            stall[1] = max(stall[1], pause)

    gc.callbacks.append(collector)

    def tick() -> None:
        while ticking[0]:
            before, collected = time.perf_counter(), collecting[0]
            hub.sleep(0.001)
            late = time.perf_counter() - before - 0.001
            stall[0] = max(stall[0], late)
            stall[2] = max(stall[2], late - (collecting[0] - collected))

    hub.spawn(tick)
    return stall, ticking


def _stall_fields(stall: list[float]) -> dict[str, float]:
    return {
        "max_stall_ms": round(stall[0] * 1000, 1),
        "max_gc_pause_ms": round(stall[1] * 1000, 1),
        "max_stall_outside_gc_ms": round(stall[2] * 1000, 1),
    }


def child_greenflow_quiet(kind: str, url: str, n: int) -> dict[str, Any]:
    """``child_greenflow`` set up for short stalls: what start-up made is frozen out of the
    collector's scans (``gc.freeze()``, after the warm-up) and the run defers full collections."""
    return child_greenflow(kind, url, n, quiet=True)


def child_greenflow(kind: str, url: str, n: int, quiet: bool = False) -> dict[str, Any]:
    import gc

    import greenflow
    from greenflow.hubs import get_hub
    from greenflow.persistence import shared_backend
    from greenflow.persistence._writer import writer_for

    hub = get_hub(_HUB)

    class Sleep(greenflow.Task):
        def execute(self) -> None:
            hub.sleep(TASK_S)

    def flow(i: int) -> Any:
        return greenflow.LinearFlow(f"gc{i}").add(
            Sleep("a"),
            greenflow.UnorderedFlow("u").add(Sleep("b"), Sleep("c"), Sleep("d")),
            Sleep("e"),
        )

    # "memory": the same engines recording nowhere, so the stall the workload itself makes shows.
    backend = shared_backend(url) if kind != "memory" else None
    if backend is not None:
        backend.get_connection().upgrade()
    # Untimed: imports and first-call costs (a one-off stall of some 50 ms) are not the steady state.
    greenflow.run_many([flow(-1)], hub=_HUB, backend=url if backend else None)
    if quiet:
        gc.collect()
        gc.freeze()
    stall, ticking = _ticker(hub)
    hub.sleep(0.01)
    stall[:] = [0.0, 0.0, 0.0]
    started = time.perf_counter()
    summary = greenflow.run_many(
        (flow(i) for i in range(n)),
        concurrency=n,
        hub=_HUB,
        backend=url if backend else None,
        defer_full_gc=quiet,
    )
    wall = time.perf_counter() - started
    ticking[0] = False
    writer = writer_for(backend, hub) if backend is not None else None
    return {
        "bench": "group_commit",
        "impl": "greenflow-quiet" if quiet else "greenflow",
        "hub": _HUB,
        "backend": kind,
        "engines": n,
        "succeeded": summary.succeeded,
        "wall_s": round(wall, 3),
        "engines_per_s": round(n / wall, 1),
        **_stall_fields(stall),
        "writer": writer.statistics() if writer is not None else None,
    }


def child_floor(kind: str, url: str, n: int) -> dict[str, Any]:
    import sqlalchemy

    from greenflow.hubs import get_hub

    hub = get_hub(_HUB)
    if kind == "sqlite":
        engine = sqlalchemy.create_engine(url, connect_args={"timeout": 60})
    else:
        engine = sqlalchemy.create_engine(_driver_url(url), pool_size=90, max_overflow=0, pool_timeout=300)
    table = f"floor_{uuid.uuid4().hex[:8]}"
    with engine.begin() as conn:
        conn.execute(sqlalchemy.text(f"CREATE TABLE {table} (id VARCHAR(64) PRIMARY KEY, state VARCHAR(16))"))
    update = sqlalchemy.text(f"UPDATE {table} SET state = :s WHERE id = :i")

    def commit(key: str, state: str) -> None:
        with engine.begin() as conn:
            conn.execute(update, {"s": state, "i": key})

    def one(i: int) -> None:
        keys = [f"{i}-{name}" for name in "abcde"]
        with engine.begin() as conn:
            conn.execute(
                sqlalchemy.text(f"INSERT INTO {table} (id, state) VALUES (:i, 'PENDING')"),
                [{"i": k} for k in keys],
            )
        commit(keys[0], "RUNNING")
        hub.sleep(TASK_S)
        commit(keys[0], "SUCCESS")
        for k in keys[1:4]:
            commit(k, "RUNNING")
        hub.sleep(TASK_S)  # B, C and D sleep at once
        for k in keys[1:4]:
            commit(k, "SUCCESS")
        commit(keys[4], "RUNNING")
        hub.sleep(TASK_S)
        commit(keys[4], "SUCCESS")

    one(-1)  # untimed: the pool's first connections and first-call costs, as for greenflow
    stall, ticking = _ticker(hub)
    hub.sleep(0.01)
    stall[:] = [0.0, 0.0, 0.0]
    started = time.perf_counter()
    handles = [hub.spawn(one, i) for i in range(n)]
    for handle in handles:
        handle.join()
    wall = time.perf_counter() - started
    ticking[0] = False
    engine.dispose()
    return {
        "bench": "group_commit",
        "impl": "naive-floor",
        "hub": _HUB,
        "backend": kind,
        "engines": n,
        "wall_s": round(wall, 3),
        "engines_per_s": round(n / wall, 1),
        **_stall_fields(stall),
    }


def child_limit(kind: str, url: str, n: int) -> dict[str, Any]:
    import sqlalchemy

    engine = sqlalchemy.create_engine(_driver_url(url))
    table = f"limit_{uuid.uuid4().hex[:8]}"
    with engine.begin() as conn:
        conn.execute(sqlalchemy.text(f"CREATE TABLE {table} (id VARCHAR(64) PRIMARY KEY, state VARCHAR(16))"))
    rows = 10 * n
    values = ", ".join(f"(:i{k}, 'SUCCESS')" for k in range(100))
    insert = sqlalchemy.text(f"INSERT INTO {table} (id, state) VALUES {values}")
    started = time.perf_counter()
    with engine.connect() as conn:
        for start in range(0, rows, 100):
            with conn.begin():
                conn.execute(insert, {f"i{k}": f"r{start + k}" for k in range(100)})
    elapsed = time.perf_counter() - started
    engine.dispose()
    return {
        "bench": "group_commit",
        "impl": "batched-insert-limit",
        "backend": kind,
        "engines": n,
        "rows_per_s": round(rows / elapsed, 1),
        "wall_s": round(elapsed, 3),
        "engines_per_s": round(rows / elapsed / 10, 1),
    }


#: Run by TaskFlow's own interpreter: argv is kind, URL, engines; prints one JSON line.
_TASKFLOW_CHILD = textwrap.dedent(
    r"""
    import eventlet

    eventlet.monkey_patch()

    import json, sys, time

    import futurist
    from taskflow import engines, task
    from taskflow.patterns import linear_flow, unordered_flow
    from taskflow.persistence import backends

    kind, url, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    if kind == "postgresql":
        import psycogreen.eventlet

        psycogreen.eventlet.patch_psycopg()
        url = url.replace("postgresql://", "postgresql+psycopg2://", 1)


    class Sleep(task.Task):
        def execute(self):
            time.sleep(%(task_s)r)


    def flow(i):
        return linear_flow.Flow(f"wf-{i}").add(
            Sleep("a"), unordered_flow.Flow("u").add(Sleep("b"), Sleep("c"), Sleep("d")), Sleep("e")
        )


    backend = backends.fetch({"connection": url, "max_pool_size": 90, "max_overflow": 0})
    backend.get_connection().upgrade()
    executor = futurist.GreenThreadPoolExecutor(max_workers=max(3 * n, 3))


    def one(i):
        engine = engines.load(flow(i), backend=backend, engine="parallel", executor=executor)
        engine.run()
        return engine.storage.get_flow_state()


    one(-1)  # warm-up: imports, first connections
    started = time.perf_counter()
    ends = list(eventlet.GreenPool(n).imap(one, range(n)))
    elapsed = time.perf_counter() - started
    assert all(end == "SUCCESS" for end in ends), ends[:5]
    print(json.dumps({"wall_s": round(elapsed, 3), "engines_per_s": round(n / elapsed, 1)}))
    """
) % {"task_s": TASK_S}

#: What TaskFlow's interpreter must import for the ``taskflow`` row.
_TASKFLOW_NEEDS = "import taskflow, eventlet, futurist, alembic, psycopg2, psycogreen"


def run_taskflow(python: str | None, kind: str, url: str, n: int) -> dict[str, Any]:
    """TaskFlow 6.5's engines on the same work, from its own interpreter (``None``: skipped)."""
    record: dict[str, Any] = {"bench": "group_commit", "impl": "taskflow", "backend": kind, "engines": n}
    if python is None:
        return {**record, "skipped": "no TaskFlow virtual environment (see --taskflow-python)"}
    return {**record, **_child_record([python, "-c", _TASKFLOW_CHILD, kind, url, str(n)], record)}


def _child_record(cmd: list[str], record: dict[str, Any], **options: Any) -> dict[str, Any]:
    """The last JSON line ``cmd`` prints, or ``record`` with the error when it printed none or failed."""
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=1800, **options)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or not lines:
        return {**record, "error": f"exit {proc.returncode}: {proc.stderr.strip()[-600:]}"}
    return dict(json.loads(lines[-1]))


def child(which: str, kind: str, url: str, n: int) -> int:
    import greenflow.hubs

    greenflow.hubs.patch(_HUB)
    fn = {
        "greenflow": child_greenflow,
        "greenflow-quiet": child_greenflow_quiet,
        "floor": child_floor,
        "limit": child_limit,
    }[which]
    print(json.dumps(fn(kind, url, n)), flush=True)
    return 0


# -- the parent -------------------------------------------------------------------------------


def run_child(which: str, kind: str, url: str, n: int) -> dict[str, Any]:
    env = dict(os.environ)
    env.pop("GREENFLOW_HUB", None)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(_ROOT), env.get("PYTHONPATH")]))
    env[_HUB_ENV] = _HUB
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", which, kind, url, str(n)]
    record = {"bench": "group_commit", "impl": which, "backend": kind, "engines": n, "hub": _HUB}
    return _child_record(cmd, record, env=env)


def _on_hub(record: dict[str, Any]) -> str:
    hub = record.get("hub")
    return f" ({hub})" if hub and hub != "gevent" and record["impl"] != "taskflow" else ""


def markdown(records: list[dict[str, Any]]) -> str:
    rows = [
        "| backend | engines | run | wall s | engines/s | max hub stall ms | longest GC pause ms "
        "| max stall outside GC ms | notes |",
        "| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for r in records:
        note = r.get("error", r.get("skipped", ""))
        if r.get("writer"):
            w = r["writer"]
            note = f"{w['rounds']} rounds, largest {w['largest_round']} engines"
        if "ratio_wall_vs_floor" in r:
            note = f"wall vs floor x{r['ratio_wall_vs_floor']}; {r['share_of_limit']} of the insert limit"
            if "x_taskflow" in r:
                note += f"; x{r['x_taskflow']} TaskFlow's engines/s"
        if "rows_per_s" in r:
            note = f"{r['rows_per_s']} rows/s"
        rows.append(
            f"| {r['backend']} | {r['engines']} | {r['impl']}{_on_hub(r)} | {r.get('wall_s', '-')} | "
            f"{r.get('engines_per_s', '-')} | {r.get('max_stall_ms', '-')} | "
            f"{r.get('max_gc_pause_ms', '-')} | {r.get('max_stall_outside_gc_ms', '-')} | {note} |"
        )
    return "\n".join(rows)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke test, not a measurement")
    parser.add_argument("--engines", default=None, help="comma-separated engine counts (default 1000)")
    parser.add_argument("--backends", default="memory,postgresql,mariadb,sqlite")
    parser.add_argument(
        "--hub", choices=("gevent", "eventlet"), default="gevent", help="the green hub (default gevent)"
    )
    parser.add_argument("--taskflow-engines", type=int, default=None, help="TaskFlow engines (default 100)")
    parser.add_argument("--taskflow-python", default=None, help="python of a TaskFlow 6.5 venv")
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        which, kind, url, n = args.child
        return child(which, kind, url, int(n))
    global _HUB
    _HUB = args.hub
    sizes = [int(x) for x in (args.engines or ("20" if args.quick else "1000")).split(",")]
    tf_engines = args.taskflow_engines or (5 if args.quick else 100)
    tf_python = taskflow_python(args.taskflow_python, _TASKFLOW_NEEDS)
    records: list[dict[str, Any]] = []
    for kind in args.backends.split(","):
        for n in sizes:
            if kind == "memory":  # no database: the stall and speed of the engines alone
                for which in ("greenflow", "greenflow-quiet"):
                    records.append(print_record(run_child(which, kind, "memory://", n)))
                continue
            try:
                with Database(kind) as db:
                    gf = run_child("greenflow", kind, db.url, n)
                    quiet = run_child("greenflow-quiet", kind, db.url, n)
                    floor = run_child("floor", kind, db.url, n)
                    limit = run_child("limit", kind, db.url, n)
                tf = None
                if kind in TASKFLOW_KINDS:
                    with Database(kind) as tf_db:  # TaskFlow's own schema, in a database of its own
                        tf = run_taskflow(tf_python, kind, tf_db.url, tf_engines)
            except Exception as exc:  # a server that is not there: say so, measure the others
                error = f"{type(exc).__name__}: {exc}"
                failed = {"bench": "group_commit", "impl": "-", "backend": kind, "engines": n, "error": error}
                records.append(print_record(failed))
                continue
            for record in (gf, quiet, floor, limit, tf):
                if record is not None:
                    records.append(print_record(record))
            if "wall_s" in gf and "wall_s" in floor and "engines_per_s" in limit:
                ratio = {
                    "bench": "group_commit",
                    "impl": "ratio",
                    "backend": kind,
                    "engines": n,
                    "ratio_wall_vs_floor": round(gf["wall_s"] / floor["wall_s"], 2),
                    "share_of_limit": f"{gf['engines_per_s'] / limit['engines_per_s']:.0%}",
                }
                if tf is not None and tf.get("engines_per_s"):
                    ratio["x_taskflow"] = round(gf["engines_per_s"] / tf["engines_per_s"], 1)
                records.append(print_record(ratio))
    print()
    print(markdown(records))
    return 0


def print_record(record: dict[str, Any]) -> dict[str, Any]:
    print(json.dumps(record), flush=True)
    return record


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
