"""Core engine overhead: greenflow against TaskFlow on the same work, in one run.

Usage: ``python benchmarks/bench_core.py [--quick]``

Prints one JSON line per measurement, then Markdown tables: greenflow/TaskFlow
ratios and the targets with PASS/MISS. ``--quick`` uses small sizes (a smoke
test of this script, not a measurement).

Measurements:

* ``per_task``: one engine runs a linear flow of ``n`` no-op tasks. The
  per-task cost is (load + compile + prepare + run) / n; ``run_only`` is
  ``engine.run()`` alone. Building the tasks is reported apart (it is the
  user's code, the same for any engine). An engine that is O(1) per task
  costs the same per task at any ``n``: ``per_task_flatness`` is the ratio
  of the per-task cost at the largest ``n`` to that at the smallest.
* ``tiny_engines``: ``n`` small engines one after another, each building a
  three-task flow (a -> x, b(x) -> y, c(y) -> z), loading, compiling and
  running it, and checking the result: the cost of an engine itself.
  ``tiny_engines_shared_flow`` reuses one flow object, so its compiled graph
  is shared (what a service running one flow shape many times does).

The timer is ``time.perf_counter``; ``gc.collect()`` runs before each timed
run (the collector stays on while timing, as in a real program); short runs
are repeated and the best is kept.
"""

from __future__ import annotations

import argparse
import gc
import json
import platform
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# Runnable from a checkout without installing: ``python benchmarks/bench_core.py``.
_ROOT = Path(__file__).resolve().parents[1]
if str(_ROOT) not in sys.path:
    sys.path.insert(0, str(_ROOT))

import greenflow  # noqa: E402  (after the path set-up above)

TARGET_PER_TASK_US = 20.0
TARGET_FLATNESS = 1.5
TARGET_PER_ENGINE_US = 100.0


@dataclass(frozen=True)
class Sizes:
    """How much work each measurement does."""

    task_counts: tuple[int, ...]
    tiny_engines: int
    taskflow_task_count: int
    taskflow_tiny_engines: int
    repeats: int
    taskflow_repeats: int


FULL = Sizes((1000, 5000), 10_000, 1000, 300, repeats=3, taskflow_repeats=3)
QUICK = Sizes((100, 500), 200, 100, 20, repeats=2, taskflow_repeats=1)


def emit(record: dict[str, Any]) -> dict[str, Any]:
    print(json.dumps(record, sort_keys=False), flush=True)
    return record


def _us(seconds: float) -> float:
    return round(seconds * 1e6, 3)


# -- the two implementations, behind the same few functions ----------------------------------


class Impl:
    """One workflow library: how to make the benchmark's tasks and flows and run them."""

    name = ""

    def noop_flow(self, n: int) -> Any:
        raise NotImplementedError

    def tiny_flow(self) -> Any:
        raise NotImplementedError

    def load(self, flow: Any) -> Any:
        raise NotImplementedError


class GreenflowImpl(Impl):
    name = "greenflow"

    def __init__(self) -> None:
        class Noop(greenflow.Task):
            def execute(self) -> None:
                return None

        class A(greenflow.Task):
            def execute(self) -> int:
                return 1

        class B(greenflow.Task):
            def execute(self, x: int) -> int:
                return x + 1

        class C(greenflow.Task):
            def execute(self, y: int) -> int:
                return y * 2

        self._noop, self._a, self._b, self._c = Noop, A, B, C

    def noop_flow(self, n: int) -> Any:
        noop = self._noop
        return greenflow.LinearFlow("noops").add(*[noop(f"t{i}") for i in range(n)])

    def tiny_flow(self) -> Any:
        return greenflow.LinearFlow("tiny").add(
            self._a("a", provides="x"), self._b("b", provides="y"), self._c("c", provides="z")
        )

    def load(self, flow: Any) -> Any:
        return greenflow.load(flow)


class TaskflowImpl(Impl):
    name = "taskflow"

    def __init__(self) -> None:
        from taskflow import engines, task
        from taskflow.patterns import linear_flow

        self._engines, self._linear = engines, linear_flow

        class Noop(task.Task):  # type: ignore[misc]
            def execute(self) -> None:
                return None

        class A(task.Task):  # type: ignore[misc]
            def execute(self) -> int:
                return 1

        class B(task.Task):  # type: ignore[misc]
            def execute(self, x: int) -> int:
                return x + 1

        class C(task.Task):  # type: ignore[misc]
            def execute(self, y: int) -> int:
                return y * 2

        self._noop, self._a, self._b, self._c = Noop, A, B, C

    def noop_flow(self, n: int) -> Any:
        noop = self._noop
        return self._linear.Flow("noops").add(*[noop(f"t{i}") for i in range(n)])

    def tiny_flow(self) -> Any:
        return self._linear.Flow("tiny").add(
            self._a("a", provides="x"), self._b("b", provides="y"), self._c("c", provides="z")
        )

    def load(self, flow: Any) -> Any:
        return self._engines.load(flow, engine="serial")


def load_taskflow() -> tuple[Impl | None, str]:
    """TaskFlow, if it imports here; else ``None`` and the reason."""
    try:
        with warnings.catch_warnings():
            # TaskFlow imports eventlet, which warns that it is deprecated on import.
            warnings.simplefilter("ignore")
            impl = TaskflowImpl()
            # Loading an engine imports the rest of TaskFlow (and warns again): do it untimed.
            impl.load(impl.tiny_flow()).run()
    except Exception as exc:  # ImportError, or a TaskFlow that does not work here
        return None, f"{type(exc).__name__}: {exc}"
    return impl, ""


# -- measurements -----------------------------------------------------------------------------


def _state(engine: Any) -> str:
    return str(engine.storage.get_flow_state())


def per_task(impl: Impl, n: int, repeats: int) -> dict[str, Any]:
    """One engine, ``n`` no-op tasks: per-task cost of load+compile+prepare+run, and of run."""
    best: tuple[float, ...] | None = None
    for _ in range(repeats):
        gc.collect()
        t0 = time.perf_counter()
        flow = impl.noop_flow(n)
        t1 = time.perf_counter()
        engine = impl.load(flow)
        t2 = time.perf_counter()
        engine.compile()
        engine.prepare()
        t3 = time.perf_counter()
        engine.run()
        t4 = time.perf_counter()
        if _state(engine) != "SUCCESS":
            raise AssertionError(f"{impl.name}: flow of {n} tasks ended in {_state(engine)}")
        sample = (t4 - t1, t4 - t3, t1 - t0, t2 - t1, t3 - t2)
        if best is None or sample[0] < best[0]:
            best = sample
        del flow, engine
    assert best is not None
    total, run, build, load, prepare = best
    return emit(
        {
            "bench": "per_task",
            "impl": impl.name,
            "n": n,
            "per_task_us": round(total / n * 1e6, 3),
            "run_only_per_task_us": round(run / n * 1e6, 3),
            "load_us": _us(load),
            "compile_prepare_us": _us(prepare),
            "build_per_task_us": round(build / n * 1e6, 3),
            "total_ms": round(total * 1e3, 3),
            "repeats": repeats,
        }
    )


def _tiny_loop(impl: Impl, n: int, shared: bool) -> float:
    load = impl.load
    if shared:
        flow = impl.tiny_flow()
        make: Callable[[], Any] = lambda: flow  # noqa: E731
    else:
        make = impl.tiny_flow
    gc.collect()
    start = time.perf_counter()
    for _ in range(n):
        engine = load(make())
        engine.run()
        if engine.storage.fetch("z") != 4:
            raise AssertionError(f"{impl.name}: tiny flow computed {engine.storage.fetch('z')!r}, not 4")
    return time.perf_counter() - start


def tiny_engines(impl: Impl, n: int, repeats: int, shared: bool) -> dict[str, Any]:
    """``n`` engines of a three-task flow, one after another: cost per engine."""
    elapsed = min(_tiny_loop(impl, n, shared) for _ in range(repeats))
    return emit(
        {
            "bench": "tiny_engines_shared_flow" if shared else "tiny_engines",
            "impl": impl.name,
            "n": n,
            "per_engine_us": round(elapsed / n * 1e6, 3),
            "total_ms": round(elapsed * 1e3, 3),
            "repeats": repeats,
        }
    )


# -- report -------------------------------------------------------------------------------------


def _fmt(value: float | None, unit: str = "") -> str:
    if value is None:
        return "-"
    return f"{value:,.2f}{unit}" if value < 100 else f"{value:,.0f}{unit}"


def report(results: list[dict[str, Any]], sizes: Sizes, quick: bool, taskflow_note: str) -> None:
    def find(bench: str, impl: str, n: int | None = None) -> dict[str, Any] | None:
        for r in results:
            if (
                r["bench"] == bench
                and r["impl"] == impl
                and (n is None or r["n"] == n)
                and "skipped" not in r
            ):
                return r
        return None

    print()
    print(f"## greenflow core benchmark{' (--quick: sizes too small to judge)' if quick else ''}")
    print()
    print(f"Python {platform.python_version()} ({platform.python_implementation()}), {platform.machine()}")
    print()
    print("| measurement | greenflow | TaskFlow | greenflow/TaskFlow | TaskFlow/greenflow |")
    print("|---|---:|---:|---:|---:|")
    n_tf = sizes.taskflow_task_count
    has_tf = find("per_task", "taskflow", n_tf) is not None
    skipped_tf = "not run (see note)" if has_tf else "-"
    tf_tiny = f", TaskFlow n={sizes.taskflow_tiny_engines}" if has_tf else ""
    rows = [
        (f"per task, load+compile+run, T={n_tf} (µs)", "per_task", "per_task_us", n_tf, n_tf),
        (f"per task, run only, T={n_tf} (µs)", "per_task", "run_only_per_task_us", n_tf, n_tf),
        (
            f"per tiny engine, 3 tasks (µs; greenflow n={sizes.tiny_engines}{tf_tiny})",
            "tiny_engines",
            "per_engine_us",
            None,
            None,
        ),
    ]
    for label, bench, key, n_gf, n_other in rows:
        gf = find(bench, "greenflow", n_gf)
        tf = find(bench, "taskflow", n_other)
        g = gf[key] if gf else None
        t = tf[key] if tf else None
        ratio = f"{g / t:.4f}" if g and t else "-"
        speedup = f"{t / g:,.0f}x" if g and t else "-"
        print(f"| {label} | {_fmt(g)} | {_fmt(t)} | {ratio} | {speedup} |")
    for n in sizes.task_counts:
        if n == n_tf:
            continue
        gf = find("per_task", "greenflow", n)
        if gf:
            label = f"per task, load+compile+run, T={n} (µs)"
            print(f"| {label} | {_fmt(gf['per_task_us'])} | {skipped_tf} | - | - |")
    shared = find("tiny_engines_shared_flow", "greenflow")
    if shared:
        print(
            f"| per tiny engine, one flow object reused (µs) | {_fmt(shared['per_engine_us'])} | - | - | - |"
        )
    print()
    if taskflow_note:
        print(f"Note: {taskflow_note}")
        print()

    flat = find("per_task_flatness", "greenflow")
    print("| target | measured | result |")
    print("|---|---:|---|")

    def verdict(ok: bool) -> str:
        return "PASS" if ok else "MISS"

    for n in sizes.task_counts:
        r = find("per_task", "greenflow", n)
        if r:
            value = r["per_task_us"]
            print(
                f"| per task (load+compile+run), T={n}: <= {TARGET_PER_TASK_US:g} µs | "
                f"{value:.2f} µs | {verdict(value <= TARGET_PER_TASK_US)} |"
            )
    if flat:
        lo, hi = sizes.task_counts[0], sizes.task_counts[-1]
        print(
            f"| per task at T={hi} within {TARGET_FLATNESS:g}x of T={lo} | "
            f"{flat['ratio']:.3f}x | {verdict(flat['ratio'] <= TARGET_FLATNESS)} |"
        )
    tiny_rows = (
        ("tiny_engines", "per tiny engine"),
        ("tiny_engines_shared_flow", "per tiny engine, shared flow"),
    )
    for bench, label in tiny_rows:
        r = find(bench, "greenflow")
        if r:
            value = r["per_engine_us"]
            print(
                f"| {label}: <= {TARGET_PER_ENGINE_US:g} µs | {value:.2f} µs | "
                f"{verdict(value <= TARGET_PER_ENGINE_US)} |"
            )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke test, not a measurement")
    parser.add_argument("--no-taskflow", action="store_true", help="do not run the TaskFlow comparison")
    args = parser.parse_args(argv)
    sizes = QUICK if args.quick else FULL

    results: list[dict[str, Any]] = []
    gf = GreenflowImpl()
    # One untimed run first, so imports and first-call costs are not measured.
    gf.load(gf.tiny_flow()).run()

    for n in sizes.task_counts:
        results.append(per_task(gf, n, sizes.repeats))
    lo = next(r for r in results if r["n"] == sizes.task_counts[0])
    hi = next(r for r in results if r["n"] == sizes.task_counts[-1])
    results.append(
        emit(
            {
                "bench": "per_task_flatness",
                "impl": "greenflow",
                "n": sizes.task_counts[-1],
                "baseline_n": sizes.task_counts[0],
                "ratio": round(hi["per_task_us"] / lo["per_task_us"], 3),
                "run_only_ratio": round(hi["run_only_per_task_us"] / lo["run_only_per_task_us"], 3),
            }
        )
    )
    results.append(tiny_engines(gf, sizes.tiny_engines, sizes.repeats, shared=False))
    results.append(tiny_engines(gf, sizes.tiny_engines, sizes.repeats, shared=True))

    if args.no_taskflow:
        tf, why = None, "skipped by --no-taskflow"
    else:
        tf, why = load_taskflow()
    if tf is None:
        note = (
            f"TaskFlow comparison skipped: {why}"
            if args.no_taskflow
            else (f"TaskFlow is not importable in this interpreter ({why}); comparison skipped")
        )
        results.append(emit({"bench": "taskflow", "impl": "taskflow", "n": 0, "skipped": note}))
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tf_task = per_task(tf, sizes.taskflow_task_count, 1)
            results.append(tf_task)
            results.append(
                tiny_engines(tf, sizes.taskflow_tiny_engines, sizes.taskflow_repeats, shared=False)
            )
        # TaskFlow's per-task cost grows with T (its run is O(T^2) overall), so the
        # largest size would run for minutes; estimate it instead of running it.
        big = sizes.task_counts[-1]
        estimate_s = tf_task["per_task_us"] * 1e-6 * tf_task["n"] * (big / tf_task["n"]) ** 2
        note = (
            f"TaskFlow is run at T={tf_task['n']} only: its per-task cost grows with T (O(T^2) per run), "
            f"so T={big} would take about {estimate_s:,.0f} s (extrapolated, not run)."
        )
        results.append(
            emit(
                {
                    "bench": "per_task",
                    "impl": "taskflow",
                    "n": big,
                    "skipped": "per-task cost grows with T; not run",
                    "estimated_total_s": round(estimate_s, 1),
                }
            )
        )
    report(results, sizes, args.quick, note)
    return 0


if __name__ == "__main__":
    sys.exit(main())
