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
   engine), and a bare loop calling 5,000 no-op functions;
6. the way services written for TaskFlow do it, beside their bare floors:
   100,000 engines spawned at once, each a new flow with
   ``executor="greenthread", max_workers=3`` (floor: the same sleeps in the
   same shape as bare green threads), and ``run_many`` over a lazy stream of
   1,000,000 (new flow, store) items with 100,000 in flight, results checked
   through ``on_result`` (floor: the same work through the hub's own pool of
   100,000); RSS after each wave, green threads and open files before and
   after (``--tf-style-n``, ``--stream N:IN_FLIGHT``); and the stream again
   with the collector kept short on both sides (``gc.freeze()`` after start-up,
   full collections kept out, young ones every 5 ms: greenflow through
   ``run_many(defer_full_gc=True)``, the pool inside ``deferred_full_gc()``), the "-quiet" rows;
   the spawned-at-once rows likewise (greenflow inside
   ``greenflow.engines.deferred_full_gc()``).

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
TF_STYLE_N = 100_000
STREAM_N = 1_000_000
STREAM_IN_FLIGHT = 100_000
#: TaskFlow-style and streamed engines against their bare floors (gevent; eventlet is reported).
STYLE_TARGET_X_BARE = 1.5
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


def style_records(tf_n: int, stream: tuple[int, int], quick: bool) -> list[dict[str, Any]]:
    """TaskFlow-style spawned engines and a streamed run_many, each beside its bare floor."""
    out: list[dict[str, Any]] = []
    hubs = ("gevent",) if quick else ("gevent", "eventlet")
    n, in_flight = stream
    for hub in hubs:
        for impl in (f"greenflow-{hub}-tfstyle", f"bare-{hub}"):
            rec = bench_concurrency.run_child(impl, tf_n, shared=impl.startswith("bare"))
            out.append(emit({**rec, "bench": BENCH, "part": "tf_style"}))
        for impl in (f"greenflow-{hub}-tfstyle-quiet", f"bare-{hub}-quiet"):
            rec = bench_concurrency.run_child(impl, tf_n, shared=impl.startswith("bare"))
            out.append(emit({**rec, "bench": BENCH, "part": "tf_style_quiet"}))
        for impl in (f"greenflow-{hub}-stream", f"bare-{hub}-pool"):
            rec = bench_concurrency.run_child(impl, n, shared=False, in_flight=in_flight)
            out.append(emit({**rec, "bench": BENCH, "part": "stream"}))
        # Both sides with the collector kept short (bench_concurrency.STREAM_IMPLS).
        for impl in (f"greenflow-{hub}-stream-quiet", f"bare-{hub}-pool-quiet"):
            rec = bench_concurrency.run_child(impl, n, shared=False, in_flight=in_flight)
            out.append(emit({**rec, "bench": BENCH, "part": "stream_quiet"}))
    return out


def style_report(records: list[dict[str, Any]]) -> bool:
    """The side-by-side table of the TaskFlow-style and streamed rows; whether gevent meets its targets."""
    print()
    print("## The TaskFlow style and a million-engine stream, beside bare green threads")
    print()
    print("Peak RSS: each side's first run, where the OS tells it apart; walls: each side's best run.")
    print()
    print(
        "| run | hub | greenflow wall (s) | bare wall (s) | x bare "
        "| greenflow peak RSS (MB) | bare peak RSS (MB) | x bare | ok |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|---|")
    passed = True
    measured: set[str] = set()  # the gevent parts measured: the target needs both
    for part, label in (
        ("tf_style", "spawned at once, new flow, greenthread x3"),
        ("tf_style_quiet", "the same, both with deferred_full_gc's collector schedule"),
        ("stream", "run_many stream"),
        ("stream_quiet", "the stream, both with defer_full_gc's collector schedule"),
    ):
        for hub in ("gevent", "eventlet"):
            gf = next(
                (r for r in records if r.get("part") == part and r["impl"].startswith(f"greenflow-{hub}")),
                None,
            )
            floor = next(
                (r for r in records if r.get("part") == part and r["impl"].startswith(f"bare-{hub}")), None
            )
            if gf is None or floor is None:
                continue
            if "wall_s" not in gf or "wall_s" not in floor:
                why = gf.get("error") or floor.get("error") or "not measured"
                print(f"| {label} | {hub} | {why} | | | | | | NO |")
                passed &= hub != "gevent"
                continue
            size = f"N={gf['n']:,}" + (f", {gf['in_flight']:,} in flight" if "in_flight" in gf else "")
            x_wall = gf["wall_s"] / floor["wall_s"]
            # Like with like: each side's first run (the floor runs more often than the biggest
            # greenflow rows, and a later run of a process starts from a fuller heap).
            rss_key = (
                "first_run_peak_rss_mb"
                if gf.get("first_run_peak_rss_mb") and floor.get("first_run_peak_rss_mb")
                else "peak_rss_mb"
            )
            x_rss = gf[rss_key] / floor[rss_key]
            print(
                f"| {label}, {size} | {hub} | {gf['wall_s']:.2f} | {floor['wall_s']:.2f} | {x_wall:.2f} "
                f"| {gf[rss_key]:,.0f} | {floor[rss_key]:,.0f} | {x_rss:.2f} "
                f"| {'yes' if gf['ok'] else 'NO'} |"
            )
            if hub == "gevent" and not part.endswith("_quiet"):  # the targets are on the defaults
                measured.add(part)
                passed &= gf["ok"] and x_wall <= STYLE_TARGET_X_BARE and x_rss <= STYLE_TARGET_X_BARE
    streams = [r for r in records if r.get("part") in ("stream", "stream_quiet") and "wall_s" in r]
    if streams:
        print()
        print(
            "| stream | RSS after each wave (MB) | green threads before / after "
            "| open files before / after | no leak |"
        )
        print("|---|---|---:|---:|---|")
        for r in streams:
            waves = ", ".join(str(w) for w in r["rss_waves_mb"])
            print(
                f"| {r['impl']} | {waves} | {r['greenlets_before']} / {r['greenlets_after']} "
                f"| {r['fds_before']} / {r['fds_after']} | {'yes' if r['no_leak'] else 'NO'} |"
            )
            passed &= r["no_leak"] or not r["impl"].startswith("greenflow-gevent")
    missing = {"tf_style", "stream"} - measured
    passed &= not missing
    print()
    print(
        f"| target | result |\n|---|---|\n| gevent rows <= {STYLE_TARGET_X_BARE}x bare wall and peak RSS, "
        f"streams leak nothing | {'PASS' if passed else 'MISS'}"
        f"{' (not measured: ' + ', '.join(sorted(missing)) + ')' if missing else ''} |"
    )
    return passed


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
    parser.add_argument(
        "--tf-style-n",
        type=int,
        help=f"TaskFlow-style engines spawned at once (default {TF_STYLE_N:,}; 0: skip)",
    )
    parser.add_argument(
        "--stream",
        help=f"N:IN_FLIGHT of the streamed run_many rows (default {STREAM_N}:{STREAM_IN_FLIGHT}; 0:0 skips)",
    )
    parser.add_argument(
        "--only-style",
        action="store_true",
        help="only the TaskFlow-style and stream rows (with their floors)",
    )
    args = parser.parse_args(argv)
    tf_n = args.tf_style_n if args.tf_style_n is not None else (200 if args.quick else TF_STYLE_N)
    if args.stream:
        total, _, flight = args.stream.partition(":")
        stream = (int(total), int(flight or total))
    else:
        stream = (1000, 200) if args.quick else (STREAM_N, STREAM_IN_FLIGHT)
    if args.only_style:
        records = style_records(tf_n, stream, args.quick)
        style_report(records)
        return 0 if all(r.get("ok", True) for r in records) else 1
    if args.sizes:
        sizes = tuple(int(s) for s in args.sizes.split(","))
    else:
        sizes = (50,) if args.quick else DEFAULT_SIZES
    taskflow = not args.no_taskflow
    records = core_records(args.quick, taskflow)
    records += concurrent_records(sizes, args.quick, taskflow)
    if tf_n and stream[0]:
        records += style_records(tf_n, stream, args.quick)
    report(records, sizes)
    if tf_n and stream[0]:
        style_report(records)
    return 0 if all(r.get("ok", True) for r in records) else 1


if __name__ == "__main__":
    sys.exit(main())
