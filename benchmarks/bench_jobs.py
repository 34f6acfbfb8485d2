"""Jobs through conductors on a Redis jobboard: greenflow's green and nonblocking conductors, TaskFlow's.

Usage: ``python benchmarks/bench_jobs.py [--quick] [--jobs N] [--taskflow-jobs N]
[--redis-url URL] [--taskflow-python PATH]``

Every job is a linear flow of 3 tasks, each sleeping 50 ms (remote calls a
conductor waits on). The jobs are posted on the board first (untimed); the
timed part runs from the conductor's start until the board is empty, and
gives ``jobs_per_s`` and ``peak_jobs`` (most jobs running at once). Each
measurement runs in its own process:

* ``green``: one ``GreenConductor`` on gevent (``max_jobs`` = the job count by
  default), with the number of OS threads the process has at the end (run
  with ``GEVENT_RESOLVER=block`` unless set: gevent's default resolver keeps
  a pool of lookup threads, unused when the board is named by address);
* ``nonblocking``: greenflow's ``NonBlockingConductor`` with 64 threads;
* ``green gc_threshold=0``: the same with the interpreter's collector
  thresholds left as they are (the green conductor's default ``gc_threshold``
  raises the first one to 100,000 while it runs, as ``run_many``'s option does);
* ``bare_gevent``: the floor, the same 3 x 50 ms sleeps in one greenlet per
  job, with no board, engine or persistence;
* ``taskflow``: TaskFlow's Redis jobboard and nonblocking conductor
  (``max_simultaneous_jobs`` default: CPUs x 5 threads) on ``--taskflow-jobs``
  jobs (1,000 by default: its throughput is bounded by its threads, so a
  smaller batch measures the same rate). TaskFlow and greenflow's ``compat``
  both provide the ``taskflow`` package, so TaskFlow runs from its own virtual
  environment: ``--taskflow-python``, ``GREENFLOW_BENCH_TASKFLOW_PYTHON`` or
  ``.venv-taskflow/bin/python`` in the checkout (``python -m venv
  .venv-taskflow && .venv-taskflow/bin/pip install taskflow redis``); without
  one, its record says ``skipped``.

Job logbooks live in the in-memory backend of each process (the poster and
the conductor share it), for greenflow and TaskFlow alike. Each run uses
its own Redis key namespace and deletes it afterwards. ``--quick`` uses small
sizes (a smoke test of this script, not a measurement). Prints JSON lines,
then a Markdown table with the ratio of each figure to TaskFlow's.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path
from typing import Any

_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
STEPS = 3
DELAY = 0.05

# The greenflow child: post the jobs, run one conductor until the board is empty.
_GREENFLOW_CHILD = r"""
import sys, json
kind, redis_url, namespace = sys.argv[1:4]
jobs, max_jobs, gc_threshold = int(sys.argv[4]), int(sys.argv[5]), sys.argv[6]
if kind == "green":
    import greenflow.hubs
    greenflow.hubs.patch("gevent")
import threading, time
from benchmarks.bench_jobs import linear_sleepers, os_threads
from greenflow.conductors import fetch_conductor
from greenflow.jobs import fetch_jobboard
from greenflow.persistence import fetch_backend

backend = fetch_backend("memory://")
board = fetch_jobboard("bench", f"{redis_url}?namespace={namespace}", persistence=backend)
board.connect()
for i in range(jobs):
    board.post_flow(f"job{i}", linear_sleepers, ({STEPS}, {DELAY}), store={"job_key": f"k{i}"})
options = {"max_jobs": max_jobs} if kind == "green" else {"max_simultaneous_jobs": max_jobs}
if gc_threshold != "default":
    options["gc_threshold"] = int(gc_threshold)
conductor = fetch_conductor(kind, "bench", board, persistence=backend, claim_expiry=60, **options)
runner = threading.Thread(target=conductor.run, daemon=True)
start = time.perf_counter()
runner.start()
while board.job_count:
    time.sleep(0.01)
elapsed = time.perf_counter() - start
threads = os_threads()
conductor.stop()
conductor.wait(30)
succeeded = sum(fd.state == "SUCCESS" for book in backend.get_connection().get_logbooks() for fd in book)
print(json.dumps({"jobs": jobs, "seconds": elapsed, "peak_jobs": conductor.counts["peak"],
                  "consumed": conductor.counts["consumed"], "succeeded": succeeded, "os_threads": threads}))
""".replace("{STEPS}", str(STEPS)).replace("{DELAY}", str(DELAY))

_BARE_CHILD = r"""
import sys, json
import gevent, gevent.pool
jobs, max_jobs = int(sys.argv[1]), int(sys.argv[2])
import time
def job():
    for _ in range({STEPS}):
        gevent.sleep({DELAY})
pool = gevent.pool.Pool(max_jobs)
start = time.perf_counter()
for _ in range(jobs):
    pool.spawn(job)
pool.join()
print(json.dumps({"jobs": jobs, "seconds": time.perf_counter() - start, "peak_jobs": min(jobs, max_jobs)}))
""".replace("{STEPS}", str(STEPS)).replace("{DELAY}", str(DELAY))

# The TaskFlow child (run by TaskFlow's own interpreter): TaskFlow's public API only.
_TASKFLOW_CHILD = (
    textwrap.dedent(
        r"""
    import json, sys, threading, time, uuid
    from taskflow import engines, task
    from taskflow.conductors import backends as conductor_backends
    from taskflow.jobs import backends as job_backends
    from taskflow.patterns import linear_flow
    from taskflow.persistence import backends as persistence_backends
    from taskflow.persistence import models

    host, namespace = sys.argv[1], sys.argv[4]
    port, db, jobs = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[5])

    class Sleep(task.Task):
        def execute(self, job_key):
            time.sleep(DELAY)

    def make_flow():
        return linear_flow.Flow("sleepers").add(*(Sleep(f"step{i}") for i in range(STEPS)))

    persistence = persistence_backends.fetch({"connection": "memory://"})
    conf = {"board": "redis", "host": host, "port": port, "db": db, "namespace": namespace}
    running = [0, 0]
    lock = threading.Lock()
    def started(_event, details):
        with lock:
            running[0] += 1
            running[1] = max(running[1], running[0])
    def ended(_event, details):
        with lock:
            running[0] -= 1
    with job_backends.backend("bench", conf, persistence=persistence) as board:
        for i in range(jobs):
            name = f"job{i}"
            book = models.LogBook(name)
            fd = models.FlowDetail(name, str(uuid.uuid4()))
            book.add(fd)
            persistence.get_connection().save_logbook(book)
            engines.save_factory_details(fd, make_flow, [], {}, backend=persistence)
            board.post(name, book=book, details={"store": {"job_key": name}})
        conductor = conductor_backends.fetch("nonblocking", "bench", board, persistence=persistence)
        conductor.notifier.register("running_start", started)
        conductor.notifier.register("running_end", ended)
        runner = threading.Thread(target=conductor.run, daemon=True)
        start = time.perf_counter()
        runner.start()
        while board.job_count:
            time.sleep(0.01)
        elapsed = time.perf_counter() - start
        conductor.stop()
        conductor.wait(30)
    books = persistence.get_connection().get_logbooks()
    succeeded = sum(fd.state == "SUCCESS" for book in books for fd in book)
    print(json.dumps({"jobs": jobs, "seconds": elapsed, "peak_jobs": running[1], "succeeded": succeeded}))
    """
    )
    .replace("STEPS", str(STEPS))
    .replace("DELAY", str(DELAY))
)


def linear_sleepers(steps: int, delay: float) -> Any:
    """The benchmark's flow: ``steps`` tasks in a line, each sleeping ``delay`` seconds (through the hub)."""
    from greenflow.atoms import Task
    from greenflow.hubs import get_hub
    from greenflow.patterns import LinearFlow

    class Sleep(Task):
        def execute(self, job_key: str) -> None:
            get_hub().sleep(delay)

    return LinearFlow("sleepers").add(*(Sleep(f"step{i}") for i in range(steps)))


def os_threads() -> int:
    """How many OS threads this process has (Linux: /proc; else -1)."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Threads:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return -1


def emit(record: dict[str, Any]) -> dict[str, Any]:
    print(json.dumps(record), flush=True)
    return record


def _child(args: list[str], timeout: float, **extra_env: str) -> dict[str, Any]:
    env = {**os.environ, **extra_env}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(_ROOT), env.get("PYTHONPATH")) if p)
    env.pop("GREENFLOW_HUB", None)
    try:
        proc = subprocess.run(args, cwd=_ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout} s"}
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or not lines:
        return {"error": f"exit {proc.returncode}: {proc.stderr.strip()[-600:]}"}
    result: dict[str, Any] = json.loads(lines[-1])
    result["jobs_per_s"] = result["jobs"] / result["seconds"] if result["seconds"] else 0.0
    return result


def _redis_parts(url: str) -> tuple[str, int, int]:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return parts.hostname or "127.0.0.1", parts.port or 6379, int(parts.path.strip("/") or 0)


def _drop_namespace(url: str, namespace: str) -> None:
    import redis

    client = redis.Redis.from_url(url)
    keys = list(client.scan_iter(match=f"{namespace}:*", count=1000))
    if keys:
        client.delete(*keys)
    client.close()


def redis_problem(url: str) -> str | None:
    """Why Redis at ``url`` cannot be used, or ``None``."""
    try:
        import redis
    except ImportError:
        return "the redis client is not installed (pip install greenflow[redis])"
    try:
        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        return f"Redis at {url} is unreachable: {exc}"
    return None


def taskflow_python(
    given: str | None, needs: str = "import taskflow, redis, taskflow.jobs.backends.impl_redis"
) -> str | None:
    """The interpreter of a virtual environment with TaskFlow (and what ``needs`` imports), or ``None``.

    A path given (``--taskflow-python``) must be such an interpreter: ``SystemExit`` naming it
    otherwise, rather than measuring another TaskFlow without a word.
    """
    if given:
        if not Path(given).exists():
            raise SystemExit(f"--taskflow-python {given!r}: no such file")
        probe = subprocess.run([given, "-c", needs], capture_output=True, text=True)
        if probe.returncode != 0:
            last = (probe.stderr.strip().splitlines() or ["(no output)"])[-1]
            raise SystemExit(f"--taskflow-python {given!r} cannot run {needs!r}: {last}")
        return given
    candidates = [
        os.environ.get("GREENFLOW_BENCH_TASKFLOW_PYTHON"),
        str(_ROOT / ".venv-taskflow/bin/python"),
    ]
    for path in candidates:
        if not path or not Path(path).exists():
            continue
        probe = subprocess.run([path, "-c", needs], capture_output=True)
        if probe.returncode == 0:
            return path
    return None


def greenflow_run(
    kind: str, url: str, jobs: int, max_jobs: int, gc_threshold: int | None = None
) -> dict[str, Any]:
    namespace = f"bench-jobs-{uuid.uuid4().hex[:10]}"
    try:
        # gevent's default resolver keeps a pool of OS threads for name lookups; the board
        # connects to an address, so the blocking resolver leaves only the conductor's own threads.
        resolver = {"GEVENT_RESOLVER": os.environ.get("GEVENT_RESOLVER", "block")} if kind == "green" else {}
        return _child(
            [
                sys.executable,
                "-c",
                _GREENFLOW_CHILD,
                kind,
                url,
                namespace,
                str(jobs),
                str(max_jobs),
                "default" if gc_threshold is None else str(gc_threshold),
            ],
            900,
            **resolver,
        )
    finally:
        _drop_namespace(url, namespace)


def taskflow_run(python: str, url: str, jobs: int) -> dict[str, Any]:
    namespace = f"bench-jobs-tf-{uuid.uuid4().hex[:10]}"
    host, port, db = _redis_parts(url)
    try:
        return _child([python, "-c", _TASKFLOW_CHILD, host, str(port), str(db), namespace, str(jobs)], 900)
    finally:
        _drop_namespace(url, namespace)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke test, not a measurement")
    parser.add_argument("--jobs", type=int, default=None, help="jobs for greenflow (default 10,000)")
    parser.add_argument("--taskflow-jobs", type=int, default=None, help="jobs for TaskFlow (default 1,000)")
    parser.add_argument(
        "--max-jobs", type=int, default=None, help="green conductor's max_jobs (default: all)"
    )
    parser.add_argument(
        "--threads", type=int, default=64, help="nonblocking conductor's threads (default 64)"
    )
    parser.add_argument("--redis-url", default=os.environ.get("GREENFLOW_TEST_REDIS_URL", DEFAULT_REDIS_URL))
    parser.add_argument("--taskflow-python", default=None, help="python of a venv with taskflow and redis")
    args = parser.parse_args(argv)
    jobs = args.jobs or (40 if args.quick else 10_000)
    tf_jobs = args.taskflow_jobs or (10 if args.quick else 1_000)
    url = args.redis_url.partition("?")[0]
    common = {"steps": STEPS, "task_sleep_ms": DELAY * 1000}
    problem = redis_problem(url)
    rows: list[dict[str, Any]] = []
    if problem is not None:
        emit({"bench": "jobs", "skipped": problem})
        return 0
    max_jobs = args.max_jobs or jobs
    rows.append(
        emit(
            {
                "bench": "jobs",
                "impl": "greenflow",
                "conductor": "green",
                "max_jobs": max_jobs,
                **common,
                **greenflow_run("green", url, jobs, max_jobs),
            }
        )
    )
    rows.append(
        emit(
            {
                "bench": "jobs",
                "impl": "greenflow",
                "conductor": "green gc_threshold=0",
                "max_jobs": max_jobs,
                **common,
                **greenflow_run("green", url, jobs, max_jobs, 0),
            }
        )
    )
    rows.append(
        emit(
            {
                "bench": "jobs",
                "impl": "bare_gevent",
                "conductor": "floor",
                "max_jobs": max_jobs,
                **common,
                **_child([sys.executable, "-c", _BARE_CHILD, str(jobs), str(max_jobs)], 300),
            }
        )
    )
    rows.append(
        emit(
            {
                "bench": "jobs",
                "impl": "greenflow",
                "conductor": "nonblocking",
                "max_jobs": args.threads,
                **common,
                **greenflow_run("nonblocking", url, jobs, args.threads),
            }
        )
    )
    python = taskflow_python(args.taskflow_python)
    if python is None:
        tf = emit(
            {
                "bench": "jobs",
                "impl": "taskflow",
                "conductor": "nonblocking",
                "skipped": "no TaskFlow virtual environment (see --taskflow-python)",
            }
        )
    else:
        tf = emit(
            {
                "bench": "jobs",
                "impl": "taskflow",
                "conductor": "nonblocking",
                **common,
                **taskflow_run(python, url, tf_jobs),
            }
        )
    rows.append(tf)
    base = tf.get("jobs_per_s")
    print()
    print("| measurement | jobs | seconds | jobs/s | peak jobs | OS threads | vs TaskFlow |")
    print("|---|---|---|---|---|---|---|")
    for row in rows:
        name = f"{row['impl']} {row.get('conductor', '')}".strip()
        if "jobs_per_s" not in row:
            print(f"| {name} | - | - | - | - | - | {row.get('skipped') or row.get('error')} |")
            continue
        ratio = f"{row['jobs_per_s'] / base:.1f}x" if base else "-"
        print(
            f"| {name} | {row['jobs']} | {row['seconds']:.2f} | {row['jobs_per_s']:.0f} | {row['peak_jobs']} "
            f"| {row.get('os_threads', '-')} | {ratio} |"
        )
    failed = [r for r in rows if "error" in r or r.get("succeeded", r.get("jobs")) != r.get("jobs")]
    return 1 if failed and not args.quick else (1 if any("error" in r for r in rows) else 0)


if __name__ == "__main__":
    sys.exit(main())
