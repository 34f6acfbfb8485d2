"""Many engines, one OS thread: the whole performance picture in one command.

    python benchmarks/bench_many.py [--quick] [--no-taskflow] [--sizes 1000,10000,100000]

Prints one JSON line per measurement, then a Markdown table with every ratio:

1. per-task engine overhead: one engine, 5,000 no-op tasks, serial and parallel
   (threading hub, in this process);
2. 10,000 tiny engines (3 tasks passing a value) run one after another;
3. concurrent I/O-bound engines, linear(A, unordered(B, C, D), E), each task
   sleeping 50 ms, through ``greenflow.run_many``: N = 1,000, 10,000 and
   100,000 on gevent and eventlet (one child process per hub and size; also
   with ``gc_threshold=100_000``, the "-gc" rows), and
   N = 10,000 on the threading hub with a 64-thread pool;
4. TaskFlow on the same work where it can run it (serial engine per-task at
   1,000 tasks, 300 tiny engines, 1,000 concurrent engines with a thread each
   and with its eventlet green executor);
5. the physical limits: the same sleeps as bare green threads on each hub (no
   engine), and a bare loop calling 5,000 no-op functions.

The concurrent measurements run in children of ``bench_concurrency.py`` (its
``--child`` mode), so each hub patches its own fresh process.
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
import time
from pathlib import Path
from typing import Any

_HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(_HERE))
sys.path.insert(0, str(_HERE.parent))

import bench_concurrency  # noqa: E402  (a sibling script, importable once its folder is on the path)
import bench_core  # noqa: E402

# The sibling scripts print their own records; here every record is printed once, by emit() below.
bench_core.emit = lambda record: record  # type: ignore[assignment]
bench_concurrency.emit = lambda record: record  # type: ignore[assignment]

BENCH = "many_engines"
PER_TASK_N = 5000
TINY_N = 10_000
TASKFLOW_PER_TASK_N = 1000
TASKFLOW_TINY_N = 300
DEFAULT_SIZES = (1000, 10_000, 100_000)
THREADING_N = 10_000
WALL_TARGET_X_BARE = 3.0
MEMORY_TARGET_X_BARE = 3.0
TASKFLOW_TARGET_X = 30.0


def emit(record: dict[str, Any]) -> dict[str, Any]:
    print(json.dumps(record), flush=True)
    return record


def _best(fn: Any, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        gc.collect()
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def bare_loop(n: int, repeats: int) -> dict[str, Any]:
    """The floor for per-task cost: a Python loop calling ``n`` no-op functions."""
    funcs = [(lambda: None) for _ in range(n)]

    def loop() -> None:
        for f in funcs:
            f()

    seconds = _best(loop, repeats)
    return emit(
        {"bench": BENCH, "part": "bare_loop", "impl": "python", "n": n, "per_call_us": seconds / n * 1e6}
    )


def per_task(engine: str, n: int, repeats: int) -> dict[str, Any]:
    """One engine running ``n`` no-op tasks (load + compile + run)."""
    from greenflow import LinearFlow, Task, load

    class Noop(Task):
        def execute(self) -> None:
            return None

    def once() -> None:
        flow = LinearFlow("noop").add(*(Noop(f"t{i}") for i in range(n)))
        eng = load(flow, engine=engine)
        eng.run()
        assert eng.storage.get_flow_state() == "SUCCESS"

    seconds = _best(once, repeats)
    return emit(
        {
            "bench": BENCH,
            "part": "per_task",
            "impl": "greenflow",
            "engine": engine,
            "n": n,
            "per_task_us": seconds / n * 1e6,
        }
    )


def core_records(quick: bool, taskflow: bool) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    repeats = 1 if quick else 3
    n_tasks = 200 if quick else PER_TASK_N
    out.append(bare_loop(n_tasks, repeats))
    for engine in ("serial", "parallel"):
        out.append(per_task(engine, n_tasks, repeats))
    gf = bench_core.GreenflowImpl()
    tiny = bench_core.tiny_engines(gf, 300 if quick else TINY_N, repeats, shared=False)
    out.append(emit({**tiny, "bench": BENCH, "part": "tiny_engines"}))
    if taskflow and not quick:
        tf, why = bench_core.load_taskflow()
        if tf is None:
            out.append(emit({"bench": BENCH, "part": "taskflow_core", "impl": "taskflow", "skipped": why}))
        else:
            rec = bench_core.per_task(tf, TASKFLOW_PER_TASK_N, 1)
            out.append(emit({**rec, "bench": BENCH, "part": "per_task", "engine": "serial"}))
            rec = bench_core.tiny_engines(tf, TASKFLOW_TINY_N, 1, shared=False)
            out.append(emit({**rec, "bench": BENCH, "part": "tiny_engines"}))
    return out


def concurrent_records(sizes: tuple[int, ...], quick: bool, taskflow: bool) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    hubs = ("gevent",) if quick else ("gevent", "eventlet")
    for n in sizes:
        for hub in hubs:
            for impl in (f"greenflow-{hub}-many", f"greenflow-{hub}-many-gc", f"bare-{hub}"):
                rec = bench_concurrency.run_child(impl, n, shared=True)
                out.append(emit({**rec, "bench": BENCH, "part": "concurrent"}))
    threading_n = 100 if quick else THREADING_N
    rec = bench_concurrency.run_child("greenflow-threading", threading_n, shared=True)
    out.append(emit({**rec, "bench": BENCH, "part": "concurrent"}))
    if taskflow and not quick:
        for impl in ("taskflow-threads", "taskflow-eventlet"):
            rec = bench_concurrency.run_child(impl, 1000, shared=False)
            out.append(emit({**rec, "bench": BENCH, "part": "concurrent"}))
    return out


def _find(records: list[dict[str, Any]], **match: Any) -> dict[str, Any] | None:
    for r in records:
        if all(r.get(k) == v for k, v in match.items()) and "skipped" not in r and r.get("ok", True):
            return r
    return None


def report(records: list[dict[str, Any]], sizes: tuple[int, ...]) -> bool:
    print()
    print("## Per-task overhead and tiny engines")
    print()
    print("| measurement | greenflow | TaskFlow | TaskFlow / greenflow |")
    print("|---|---:|---:|---:|")
    bare = _find(records, part="bare_loop")
    passed = True
    for engine in ("serial", "parallel"):
        gf = _find(records, part="per_task", impl="greenflow", engine=engine)
        tf = _find(records, part="per_task", impl="taskflow") if engine == "serial" else None
        if gf is None:
            continue
        ratio = f"{tf['per_task_us'] / gf['per_task_us']:,.0f}x" if tf else "-"
        tf_cell = f"{tf['per_task_us']:,.1f} (T={tf['n']:,})" if tf else "-"
        print(f"| per task, {engine}, T={gf['n']:,} (µs) | {gf['per_task_us']:.2f} | {tf_cell} | {ratio} |")
        if tf:
            passed &= tf["per_task_us"] / gf["per_task_us"] >= TASKFLOW_TARGET_X
    gf = _find(records, part="tiny_engines", impl="greenflow")
    tf = _find(records, part="tiny_engines", impl="taskflow")
    if gf is not None:
        ratio = f"{tf['per_engine_us'] / gf['per_engine_us']:,.0f}x" if tf else "-"
        tf_cell = f"{tf['per_engine_us']:,.0f}" if tf else "-"
        print(f"| per tiny engine, N={gf['n']:,} (µs) | {gf['per_engine_us']:.1f} | {tf_cell} | {ratio} |")
        if tf:
            passed &= tf["per_engine_us"] / gf["per_engine_us"] >= TASKFLOW_TARGET_X
    if bare is not None:
        print(f"| bare loop, one no-op call (µs) | {bare['per_call_us']:.3f} | - | - |")
    print()
    print("## Concurrent I/O-bound engines (3 x 50 ms per engine; ideal 0.150 s)")
    print()
    print("| impl | N | wall (s) | x bare | engines/s | RSS/engine (KB) | x bare | OS threads | ok |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---|")
    for n in sizes:
        for hub in ("gevent", "eventlet"):
            gf = _find(records, part="concurrent", impl=f"greenflow-{hub}-many", n=n)
            tuned = _find(records, part="concurrent", impl=f"greenflow-{hub}-many-gc", n=n)
            floor = _find(records, part="concurrent", impl=f"bare-{hub}", n=n)
            for rec in (gf, tuned, floor):
                if rec is None:
                    continue
                x_wall = rec["wall_s"] / floor["wall_s"] if floor else None
                bare_kb = max(floor["rss_per_engine_kb"], 0.01) if floor else None
                x_mem = rec["rss_per_engine_kb"] / bare_kb if bare_kb else None
                print(
                    f"| {rec['impl']} | {n:,} | {rec['wall_s']:.3f} | {x_wall:.2f} "
                    f"| {rec['engines_per_s']:,.0f} | {rec['rss_per_engine_kb']:.1f} | {x_mem:.2f} "
                    f"| {rec['peak_os_threads']} | {'yes' if rec['ok'] else 'NO'} |"
                )
    others = ("greenflow-threading", "taskflow")
    for rec in records:
        if rec.get("part") != "concurrent" or "wall_s" not in rec or not rec["impl"].startswith(others):
            continue
        print(
            f"| {rec['impl']} | {rec['n']:,} | {rec['wall_s']:.3f} | - | {rec['engines_per_s']:,.0f} "
            f"| {rec['rss_per_engine_kb']:.1f} | - | {rec['peak_os_threads']} | "
            f"{'yes' if rec['ok'] else 'NO'} |"
        )
    print()
    print("| target | measured | result |")
    print("|---|---:|---|")
    top = max(sizes)
    for hub in ("gevent", "eventlet"):
        gf = _find(records, part="concurrent", impl=f"greenflow-{hub}-many", n=top)
        floor = _find(records, part="concurrent", impl=f"bare-{hub}", n=top)
        if gf is None or floor is None:
            continue
        x_wall = gf["wall_s"] / floor["wall_s"]
        x_mem = gf["rss_per_engine_kb"] / max(floor["rss_per_engine_kb"], 0.01)
        ok_wall = gf["ok"] and gf["peak_os_threads"] == 1 and x_wall <= WALL_TARGET_X_BARE
        ok_mem = x_mem <= MEMORY_TARGET_X_BARE
        passed &= ok_wall and ok_mem
        print(
            f"| {top:,} engines on {hub}, one OS thread, wall <= 3x bare | {x_wall:.2f}x | "
            f"{'PASS' if ok_wall else 'MISS'} |"
        )
        print(
            f"| {top:,} engines on {hub}, memory per engine <= 3x bare | {x_mem:.2f}x "
            f"({gf['rss_per_engine_kb']:.1f} KB) | {'PASS' if ok_mem else 'MISS'} |"
        )
    print(
        f"| per task and per tiny engine >= {TASKFLOW_TARGET_X:.0f}x TaskFlow | see above | "
        f"{'PASS' if passed else 'MISS (or not measured)'} |"
    )
    return passed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="small sizes, gevent only, no TaskFlow: a smoke test"
    )
    parser.add_argument("--no-taskflow", action="store_true", help="skip the TaskFlow comparison")
    parser.add_argument(
        "--sizes", help="comma-separated concurrent engine counts (default 1000,10000,100000)"
    )
    args = parser.parse_args(argv)
    if args.sizes:
        sizes = tuple(int(s) for s in args.sizes.split(","))
    else:
        sizes = (50,) if args.quick else DEFAULT_SIZES
    taskflow = not args.no_taskflow
    records = core_records(args.quick, taskflow)
    records += concurrent_records(sizes, args.quick, taskflow)
    report(records, sizes)
    return 0 if all(r.get("ok", True) for r in records) else 1


if __name__ == "__main__":
    sys.exit(main())
