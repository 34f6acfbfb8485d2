"""Many concurrent I/O-bound engines: greenflow on each hub against TaskFlow, in one run.

Usage: ``python benchmarks/bench_concurrency.py [--quick] [--sizes 1000,10000] [--no-taskflow]``

Each engine runs ``linear(A, unordered(B, C, D), E)`` where every task sleeps
50 ms with ``time.sleep`` (a stand-in for a call to a remote service), so one
engine that overlaps B, C and D needs 150 ms: that is the ideal wall time of
any number of engines run at once. ``n`` engines are started together and the
wall time until the last one ends is measured, with the peak memory and the
peak number of OS threads of the process.

Every measurement runs in its own child process (monkey patching is
process-wide, and each child's peak memory is its own), with a timeout:

* ``greenflow-gevent`` / ``greenflow-eventlet``: the child calls
  ``greenflow.hubs.patch(hub)`` first; each engine is
  ``greenflow.load(flow, engine='parallel')`` plus ``run()`` in its own
  ``hub.spawn(...)``. Measured with one flow object shared by every engine
  (its compiled graph is shared: ``shared_flow: true``) and with a new flow
  per engine (``shared_flow: false``).
* ``greenflow-threading``: no patching; ``greenflow.run_many`` drives the
  engines from one thread over one shared pool of 64 threads. Skipped, with a
  record saying so, where this greenflow has no ``run_many``.
* ``taskflow-threads``: one OS thread per engine running TaskFlow's serial
  engine (so B, C and D run one after another: 250 ms is its own floor), at
  most 2,000 threads at once; larger ``n`` runs in waves of 2,000.
* ``taskflow-eventlet``: an eventlet-patched child; each engine is
  ``taskflow.engines.load(flow, engine='parallel', executor='greenthreaded')``
  in its own green thread. TaskFlow on gevent is not run (see its skipped record).

Prints one JSON line per measurement (``bench: concurrent_engines``), then a
Markdown table, greenflow/TaskFlow ratios at the same ``n`` and the targets
with PASS/MISS. ``--quick`` (n=50, gevent and threading only, no TaskFlow) is
a smoke test of this script, not a measurement.

Columns: ``wall_s`` from the first engine started to the last one ended
(loading included; building the flow included when it is not shared);
``ratio_to_ideal`` = wall_s / 0.15; ``peak_rss_mb`` is the child's peak RSS
over all its runs; ``first_run_peak_rss_mb`` the first run's own (Linux's
``VmHWM``, reset before each run), which compares rows run a different number
of times; ``rss_per_engine_kb`` is (peak RSS - RSS just before the
engines start) / n; ``peak_os_threads`` is the largest ``Threads:`` count in
``/proc/self/status`` seen by a sampler every 5 ms (a green thread under a
green hub; a thread of its own otherwise, not counted);
``ok`` means every engine ended in SUCCESS with the right result.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

# Runnable from a checkout without installing: ``python benchmarks/bench_concurrency.py``.
_ROOT = Path(__file__).resolve().parents[1]
if str(_ROOT) not in sys.path:
    sys.path.insert(0, str(_ROOT))

# Nothing else is imported at module level: a child must monkey-patch before
# ``threading``, ``subprocess`` and friends are imported for their own use.

BENCH = "concurrent_engines"
TASK_SLEEP_S = 0.05
IDEAL_S = 0.15  # A, then B|C|D at once, then E: 3 x TASK_SLEEP_S
TASKFLOW_SERIAL_FLOOR_S = 0.25  # TaskFlow's serial engine runs B, C, D in turn
TASKFLOW_THREAD_CAP = 2000
SAMPLE_EVERY_S = 0.005
THREADING_POOL_SIZE = 64

DEFAULT_SIZES = (1000, 10_000)
QUICK_SIZE = 50
#: TaskFlow is run at these sizes unless ``--sizes`` names others.
TASKFLOW_DEFAULT_SIZES = (1000,)
TARGET_N = 1000
TARGET_GEVENT_S = 0.3

GREENFLOW_IMPLS = (
    "greenflow-gevent",
    "greenflow-gevent-many",
    "greenflow-eventlet",
    "greenflow-eventlet-many",
    "greenflow-threading",
)
TASKFLOW_IMPLS = ("taskflow-threads", "taskflow-eventlet")
BARE_IMPLS = ("bare-gevent", "bare-eventlet")
GC_IMPLS = ("greenflow-gevent-many-gc", "greenflow-eventlet-many-gc")
GC_THRESHOLD = 100_000  # run_many's gc_threshold for the "-gc" variants
#: The TaskFlow style: a new flow per engine, executor="greenthread", max_workers=3, spawn + run.
TASKFLOW_STYLE_IMPLS = ("greenflow-gevent-tfstyle", "greenflow-eventlet-tfstyle")
#: The same and its floor with the collector kept short on both sides (both inside
#: ``greenflow.engines.deferred_full_gc()``).
QUIET_STYLE_IMPLS = (
    "greenflow-gevent-tfstyle-quiet",
    "greenflow-eventlet-tfstyle-quiet",
    "bare-gevent-quiet",
    "bare-eventlet-quiet",
)
TASKFLOW_STYLE_WORKERS = 3
#: A lazy stream of (new flow, store) items through run_many with a bound in flight, and its floor:
#: the same work through the hub's own bounded pool (gevent.pool.Pool, eventlet.GreenPool).
#: The "-quiet" variants, both sides alike: what start-up made is frozen out of the collector's
#: scans and full collections are kept out of the run, young ones collected every 5 ms
#: (greenflow: ``run_many(..., defer_full_gc=True)``; the pool: ``deferred_full_gc()`` around it).
STREAM_IMPLS = (
    "greenflow-gevent-stream",
    "greenflow-eventlet-stream",
    "greenflow-gevent-stream-quiet",
    "greenflow-eventlet-stream-quiet",
)
POOL_IMPLS = ("bare-gevent-pool", "bare-eventlet-pool", "bare-gevent-pool-quiet", "bare-eventlet-pool-quiet")
CHILD_IMPLS = GREENFLOW_IMPLS + GC_IMPLS + TASKFLOW_IMPLS + BARE_IMPLS + TASKFLOW_STYLE_IMPLS
CHILD_IMPLS += STREAM_IMPLS + POOL_IMPLS + QUIET_STYLE_IMPLS

TASKFLOW_GEVENT_SKIP = (
    "TaskFlow's green executor (futurist's GreenThreadPoolExecutor) is built on eventlet and "
    "hangs in a gevent-patched process; TaskFlow is not run under gevent"
)


def emit(record: dict[str, Any]) -> dict[str, Any]:
    print(json.dumps(record), flush=True)
    return record


# -- child side: one measurement in this process ----------------------------------------------


def _expected(i: int) -> int:
    """What task E computes for an engine given ``x = i``: A = x+1, B = 2A, C = 3A, D = 5A, E = B+C+D."""
    return 10 * (i + 1)


def _greenflow_flow_factory() -> Callable[[], Any]:
    import greenflow

    class A(greenflow.Task):
        def execute(self, x: int) -> int:
            time.sleep(TASK_SLEEP_S)
            return x + 1

    class Scale(greenflow.Task):
        def __init__(self, name: str, factor: int) -> None:
            super().__init__(name, provides=name.lower())
            self.factor = factor

        def execute(self, a: int) -> int:
            time.sleep(TASK_SLEEP_S)
            return a * self.factor

    class E(greenflow.Task):
        def execute(self, b: int, c: int, d: int) -> int:
            time.sleep(TASK_SLEEP_S)
            return b + c + d

    def make() -> Any:
        fan = greenflow.UnorderedFlow("fan").add(Scale("B", 2), Scale("C", 3), Scale("D", 5))
        return greenflow.LinearFlow("io").add(A("A", provides="a"), fan, E("E", provides="e"))

    return make


def _taskflow_flow_factory() -> Callable[[], Any]:
    from taskflow import task
    from taskflow.patterns import linear_flow, unordered_flow

    class A(task.Task):  # type: ignore[misc]
        def execute(self, x: int) -> int:
            time.sleep(TASK_SLEEP_S)
            return x + 1

    class Scale(task.Task):  # type: ignore[misc]
        def __init__(self, name: str, factor: int) -> None:
            super().__init__(name, provides=name.lower())
            self.factor = factor

        def execute(self, a: int) -> int:
            time.sleep(TASK_SLEEP_S)
            return a * self.factor

    class E(task.Task):  # type: ignore[misc]
        def execute(self, b: int, c: int, d: int) -> int:
            time.sleep(TASK_SLEEP_S)
            return b + c + d

    def make() -> Any:
        fan = unordered_flow.Flow("fan").add(Scale("B", 2), Scale("C", 3), Scale("D", 5))
        return linear_flow.Flow("io").add(A("A", provides="a"), fan, E("E", provides="e"))

    return make


def _proc_status(field: str) -> int | None:
    """An integer field of ``/proc/self/status`` (``Threads``, ``VmRSS`` in KB), or ``None``."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def _os_threads() -> int:
    count = _proc_status("Threads")
    if count is None:  # not Linux: only the threads Python knows of
        import threading

        return threading.active_count()
    return count


def _peak_rss_kb() -> float:
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1024 if sys.platform == "darwin" else float(peak)  # bytes on macOS, KB elsewhere


def _reset_run_peak() -> bool:
    """Start a new RSS high-water mark (Linux: ``VmHWM``, reset through ``clear_refs``); whether it could."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as f:
            f.write("5")
    except OSError:
        return False
    return True


class _Sampler:
    """Records the peak OS thread count, from a green thread or from a thread of its own."""

    def __init__(self, spawn: Callable[[Callable[[], None]], Any] | None) -> None:
        self.peak = _os_threads()
        self._stop = False
        self._own_thread = spawn is None
        if spawn is None:
            import threading

            thread = threading.Thread(target=self._loop, name="bench-sampler", daemon=True)
            thread.start()
            self._handle: Any = thread
        else:
            self._handle = spawn(self._loop)

    def _loop(self) -> None:
        while not self._stop:
            self.note()
            time.sleep(SAMPLE_EVERY_S)

    def note(self) -> None:
        # The sampler's own thread is not one the work needed.
        count = _os_threads() - (1 if self._own_thread else 0)
        if count > self.peak:
            self.peak = count

    def stop(self) -> int:
        self._stop = True
        self.note()
        # A thread, a hub's spawn handle, or an eventlet GreenThread (which has wait(), not join()).
        join = getattr(self._handle, "join", None) or self._handle.wait
        join()
        return self.peak


class _InFlight:
    """Counts the engines started and not yet ended, and the most at once."""

    count = 0
    peak = 0

    @classmethod
    def enter(cls) -> None:
        cls.count += 1
        if cls.count > cls.peak:
            cls.peak = cls.count

    @classmethod
    def leave(cls) -> None:
        cls.count -= 1


def _check(results: list[Any], n: int) -> int:
    return sum(1 for i, value in enumerate(results) if value == _expected(i))


def _measure(
    impl: str,
    n: int,
    shared: bool,
    run_all: Callable[[_Sampler], list[Any]],
    spawn: Callable[[Callable[[], None]], Any] | None,
    repeats: int,
    profile: bool,
) -> dict[str, Any]:
    """Time ``run_all`` (which returns each engine's result of E, or ``None``) and record its footprint.

    The best of ``repeats`` runs is reported (this machine is shared, and one
    run is easily slowed by a neighbour); peak RSS and threads are over all runs.
    """
    import gc

    gc.collect()
    base_rss_kb = float(_proc_status("VmRSS") or _peak_rss_kb())
    sampler = _Sampler(spawn)
    profiler = None
    if profile:
        import cProfile

        profiler = cProfile.Profile()
    walls: list[tuple[float, float]] = []
    run_peaks_kb: list[int] = []  # each run's own RSS high-water mark, where the OS can tell
    correct = n
    _InFlight.peak = 0
    for _ in range(repeats):
        gc.collect()
        resettable = _reset_run_peak()
        if profiler is not None:
            profiler.enable()
        cpu0 = time.process_time()
        start = time.perf_counter()
        results = run_all(sampler)
        wall = time.perf_counter() - start
        cpu = time.process_time() - cpu0
        if profiler is not None:
            profiler.disable()
        walls.append((wall, cpu))
        hwm = _proc_status("VmHWM") if resettable else None
        if hwm is not None:
            run_peaks_kb.append(hwm)
        correct = min(correct, _check(results, n))
        del results
    peak_threads = sampler.stop()
    # (A reset high-water mark is the process's too: the peak over all runs is the largest run's.)
    peak_rss_kb = max([_peak_rss_kb(), *run_peaks_kb])
    if profiler is not None:
        import pstats

        pstats.Stats(profiler, stream=sys.stderr).sort_stats("tottime").print_stats(30)
    wall, cpu = min(walls)
    return {
        "bench": BENCH,
        "impl": impl,
        "n": n,
        "wall_s": round(wall, 4),
        "ideal_s": IDEAL_S,
        "ratio_to_ideal": round(wall / IDEAL_S, 3),
        "engines_per_s": round(n / wall, 1),
        "peak_rss_mb": round(peak_rss_kb / 1024, 1),
        # The first run's own peak: what compares like with like between rows run a different
        # number of times (a later run of the same process starts from a fuller heap).
        "first_run_peak_rss_mb": round(run_peaks_kb[0] / 1024, 1) if run_peaks_kb else None,
        "rss_per_engine_kb": round(max(0.0, peak_rss_kb - base_rss_kb) / n, 2),
        "peak_os_threads": peak_threads,
        "peak_in_flight": _InFlight.peak or None,
        "ok": correct == n,
        "correct": correct,
        "shared_flow": shared,
        "cpu_s": round(cpu, 4),
        "median_wall_s": round(sorted(w for w, _ in walls)[len(walls) // 2], 4),
        "repeats": repeats,
    }


def _green_repeats(n: int) -> int:
    return 5 if n <= 1000 else 3


def _flows(make: Callable[[], Any], shared: bool) -> Callable[[], Any]:
    if shared:
        flow = make()
        return lambda: flow
    return make


def child_greenflow_green(
    hub_name: str, n: int, shared: bool, profile: bool, taskflow_style: bool = False, quiet: bool = False
) -> dict[str, Any]:
    """N engines, each loaded and run in a green thread of its own (``hub.spawn``), all at once.

    ``taskflow_style``: as a service written for TaskFlow does it, each engine
    asks for green threads of its own (``executor='greenthread'``,
    ``max_workers=3``). ``quiet``: see ``QUIET_STYLE_IMPLS``.
    """
    import contextlib
    import gc

    import greenflow.hubs

    greenflow.hubs.patch(hub_name)
    import greenflow

    hub = greenflow.hubs.get_hub(hub_name)
    make = _greenflow_flow_factory()
    options: dict[str, Any] = {"engine": "parallel"}
    if taskflow_style:
        options.update(executor="greenthread", max_workers=TASKFLOW_STYLE_WORKERS)
    # One untimed engine first, on a flow of its own: imports, the shared green
    # executor and first-call costs are not measured.
    warm = greenflow.load(make(), store={"x": 0}, **options)
    warm.run()
    assert warm.storage.fetch("e") == _expected(0)

    flow_for = _flows(make, shared)

    def run_all(sampler: _Sampler) -> list[Any]:
        results: list[Any] = [None] * n

        def one(i: int) -> None:
            _InFlight.enter()
            engine = greenflow.load(flow_for(), store={"x": i}, **options)
            engine.run()
            _InFlight.leave()
            if engine.storage.get_flow_state() == "SUCCESS":
                results[i] = engine.storage.fetch("e")

        if quiet:
            gc.freeze()
        with greenflow.engines.deferred_full_gc() if quiet else contextlib.nullcontext():
            handles = [hub.spawn(one, i) for i in range(n)]
            for handle in handles:
                handle.join()
        gc.unfreeze()
        return results

    impl = f"greenflow-{hub_name}" + ("-tfstyle" if taskflow_style else "") + ("-quiet" if quiet else "")
    repeats = 1 if taskflow_style and n > 10_000 else _green_repeats(n)
    return _measure(impl, n, shared, run_all, hub.spawn, repeats, profile)


def child_greenflow_many(
    hub_name: str, n: int, shared: bool, profile: bool, gc_threshold: int | None = None
) -> dict[str, Any]:
    """N engines through ``greenflow.run_many`` on a green hub: results are not kept, only counted.

    With ``gc_threshold``, run_many raises the collector's first threshold for the run.
    """
    import greenflow.hubs

    greenflow.hubs.patch(hub_name)
    import greenflow

    make = _greenflow_flow_factory()
    warm = greenflow.run_many([(make(), {"x": 0})], concurrency=1)
    assert warm.succeeded == 1, warm
    flow_for = _flows(make, shared)
    hub = greenflow.hubs.get_hub(hub_name)

    peak = [0]  # the most engines in flight (taken from the input, not ended) at once

    def run_all(sampler: _Sampler) -> list[Any]:
        results: list[Any] = [None] * n

        def record(outcome: Any) -> None:
            if outcome.ok:
                results[outcome.index] = outcome.results["e"]

        items = ((flow_for(), {"x": i}) for i in range(n))
        runner = greenflow.engines.ManyRunner(
            items, concurrency=n, on_result=record, keep_outcomes=False, gc_threshold=gc_threshold
        )
        sampling = [True]

        def sample() -> None:
            # run_many lets the hub run while it loads: engines end before the last is taken.
            while sampling[0]:
                peak[0] = max(peak[0], runner.running)
                time.sleep(0.002)

        hub.spawn(sample)
        runner.run()
        sampling[0] = False
        return results

    impl = f"greenflow-{hub_name}-many" + ("-gc" if gc_threshold else "")
    record = _measure(impl, n, shared, run_all, hub.spawn, _green_repeats(n), profile)
    record["peak_in_flight"] = peak[0]
    return record


def child_bare_green(hub_name: str, n: int, quiet: bool = False) -> dict[str, Any]:
    """The same sleeps as bare green threads (``hub.spawn`` and ``join``), no engine: the hub's floor.

    ``quiet``: see ``QUIET_STYLE_IMPLS``.
    """
    import greenflow.hubs

    greenflow.hubs.patch(hub_name)
    hub = greenflow.hubs.get_hub(hub_name)

    def scale(out: list[int], k: int, a: int, factor: int) -> None:
        time.sleep(TASK_SLEEP_S)
        out[k] = a * factor

    def one(results: list[Any], i: int) -> None:
        _InFlight.enter()
        time.sleep(TASK_SLEEP_S)
        a = i + 1
        out = [0, 0, 0]
        handles = [hub.spawn(scale, out, k, a, factor) for k, factor in enumerate((2, 3, 5))]
        for handle in handles:
            handle.join()
        time.sleep(TASK_SLEEP_S)
        results[i] = sum(out)
        _InFlight.leave()

    def run_all(sampler: _Sampler) -> list[Any]:
        results: list[Any] = [None] * n
        stop = _quiet_collector(hub) if quiet else None
        handles = [hub.spawn(one, results, i) for i in range(n)]
        for handle in handles:
            handle.join()
        if stop is not None:
            stop()
        return results

    one([None], 0)  # untimed: first-call costs
    impl = f"bare-{hub_name}" + ("-quiet" if quiet else "")
    return _measure(impl, n, True, run_all, hub.spawn, _green_repeats(n), False)


def _open_fds() -> int:
    try:
        return len(os.listdir("/proc/self/fd"))
    except OSError:
        return -1


def _greenlets() -> int:
    import gc

    import greenlet

    return sum(1 for o in gc.get_objects() if isinstance(o, greenlet.greenlet))


class _Waves:
    """RSS after each wave of ``size`` finished engines: flat after the first means no leak."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.done = 0
        self.rss_kb: list[int] = []

    def tick(self) -> None:
        self.done += 1
        if self.done % self.size == 0:
            self.rss_kb.append(_proc_status("VmRSS") or 0)


def _stream_record(
    impl: str,
    n: int,
    in_flight: int,
    wall: float,
    cpu: float,
    correct: int,
    base: dict[str, int],
    waves: _Waves,
) -> dict[str, Any]:
    import gc

    gc.collect()
    after = {"greenlets": _greenlets(), "fds": _open_fds(), "rss_kb": _proc_status("VmRSS") or 0}
    peak_kb = _peak_rss_kb()
    first, last = (waves.rss_kb[0], waves.rss_kb[-1]) if waves.rss_kb else (0, 0)
    return {
        "bench": BENCH,
        "impl": impl,
        "n": n,
        "in_flight": in_flight,
        "wall_s": round(wall, 3),
        "cpu_s": round(cpu, 3),
        "engines_per_s": round(n / wall, 1),
        "peak_rss_mb": round(peak_kb / 1024, 1),
        "rss_per_engine_kb": round(max(0.0, peak_kb - base["rss_kb"]) / in_flight, 2),
        "rss_first_wave_mb": round(first / 1024, 1),
        "rss_last_wave_mb": round(last / 1024, 1),
        "rss_waves_mb": [round(kb / 1024) for kb in waves.rss_kb],
        "greenlets_before": base["greenlets"],
        "greenlets_after": after["greenlets"],
        "fds_before": base["fds"],
        "fds_after": after["fds"],
        "no_leak": after["greenlets"] <= base["greenlets"] and after["fds"] <= base["fds"],
        "ideal_s": round(-(-n // in_flight) * IDEAL_S, 3),
        "peak_os_threads": _os_threads(),
        "peak_in_flight": in_flight,
        "ok": correct == n,
        "correct": correct,
        "shared_flow": False,
        "repeats": 1,
    }


def _stream_baseline() -> dict[str, int]:
    import gc

    gc.collect()
    return {"greenlets": _greenlets(), "fds": _open_fds(), "rss_kb": _proc_status("VmRSS") or 0}


def _quiet_collector(hub: Any) -> Callable[[], None]:
    """For a "-quiet" floor: freeze start-up's objects and run the collector on the schedule
    greenflow's engines get (``greenflow.engines.deferred_full_gc``: the collector only, no
    engine); returns ``stop``."""
    import contextlib
    import gc

    from greenflow.engines import deferred_full_gc

    gc.freeze()
    schedule = contextlib.ExitStack()
    schedule.enter_context(deferred_full_gc(hub))

    def stop() -> None:
        schedule.close()
        gc.unfreeze()
        hub.sleep(0.01)  # the collecting green thread ends

    return stop


def child_greenflow_stream(hub_name: str, n: int, in_flight: int, quiet: bool = False) -> dict[str, Any]:
    """``run_many`` over a lazy stream of ``n`` (new flow, store) items, ``in_flight`` at once.

    Results are checked as they come (``on_result``), none is kept; memory is
    sampled after each wave of ``in_flight`` finished engines. ``quiet``: see
    ``STREAM_IMPLS``.
    """
    import gc

    import greenflow.hubs

    greenflow.hubs.patch(hub_name)
    import greenflow

    make = _greenflow_flow_factory()
    warm = greenflow.run_many([(make(), {"x": 0})], concurrency=1)
    assert warm.succeeded == 1, warm
    waves = _Waves(in_flight)
    correct = [0]

    def check(outcome: Any) -> None:
        waves.tick()
        if outcome.ok and outcome.results["e"] == _expected(outcome.index):
            correct[0] += 1

    base = _stream_baseline()  # (before freezing: frozen objects are not counted)
    if quiet:
        gc.freeze()
    cpu0, start = time.process_time(), time.perf_counter()
    items = ((make(), {"x": i}) for i in range(n))
    greenflow.run_many(
        items, concurrency=in_flight, on_result=check, keep_outcomes=False, defer_full_gc=quiet
    )
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu0
    gc.unfreeze()
    impl = f"greenflow-{hub_name}-stream" + ("-quiet" if quiet else "")
    return _stream_record(impl, n, in_flight, wall, cpu, correct[0], base, waves)


def child_bare_pool(hub_name: str, n: int, in_flight: int, quiet: bool = False) -> dict[str, Any]:
    """The stream's floor: the same sleeps in the same shape through the hub's own bounded pool.

    ``quiet``: with the collector on the schedule of ``run_many(defer_full_gc=True)``.
    """
    import greenflow.hubs

    greenflow.hubs.patch(hub_name)
    hub = greenflow.hubs.get_hub(hub_name)
    if hub_name == "gevent":
        import gevent.pool

        pool: Any = gevent.pool.Pool(in_flight)
    else:
        import eventlet

        pool = eventlet.GreenPool(in_flight)
    waves = _Waves(in_flight)
    correct = [0]

    def scale(out: list[int], k: int, a: int, factor: int) -> None:
        time.sleep(TASK_SLEEP_S)
        out[k] = a * factor

    def one(i: int) -> None:
        time.sleep(TASK_SLEEP_S)
        a = i + 1
        out = [0, 0, 0]
        handles = [hub.spawn(scale, out, k, a, factor) for k, factor in enumerate((2, 3, 5))]
        for handle in handles:
            handle.join()
        time.sleep(TASK_SLEEP_S)
        if sum(out) == _expected(i):
            correct[0] += 1
        waves.tick()

    one(0)
    correct[0] = waves.done = 0
    base = _stream_baseline()  # (before freezing: frozen objects are not counted)
    stop = _quiet_collector(hub) if quiet else None
    cpu0, start = time.process_time(), time.perf_counter()
    for i in range(n):
        pool.spawn(one, i)  # blocks while the pool is full
    pool.waitall() if hub_name == "eventlet" else pool.join()
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu0
    if stop is not None:
        stop()
    impl = f"bare-{hub_name}-pool" + ("-quiet" if quiet else "")
    return _stream_record(impl, n, in_flight, wall, cpu, correct[0], base, waves)


def child_greenflow_threading(n: int, shared: bool, profile: bool) -> dict[str, Any]:
    import greenflow
    import greenflow.engines

    run_many = getattr(greenflow, "run_many", None) or getattr(greenflow.engines, "run_many", None)
    if run_many is None:
        return {
            "bench": BENCH,
            "impl": "greenflow-threading",
            "n": n,
            "shared_flow": shared,
            "skipped": "this greenflow has no run_many (greenflow.run_many / greenflow.engines.run_many), "
            "which the threading hub needs to multiplex engines over a shared pool",
        }
    from greenflow.executors import ThreadExecutor

    pool = ThreadExecutor(THREADING_POOL_SIZE)
    make = _greenflow_flow_factory()

    def results_of(summary: Any, count: int) -> list[Any]:
        results: list[Any] = [None] * count
        for outcome in summary.outcomes:
            if outcome.ok and outcome.results is not None:
                results[outcome.index] = outcome.results.get("e")
        return results

    # (flow, store) pairs: run_many loads each engine (on ``pool``) when it starts it.
    warm = run_many([(make(), {"x": 0})], concurrency=1, hub="threading", executor=pool)
    assert results_of(warm, 1) == [_expected(0)], warm

    flow_for = _flows(make, shared)

    def run_all(sampler: _Sampler) -> list[Any]:
        items = ((flow_for(), {"x": i}) for i in range(n))
        summary = run_many(items, concurrency=n, hub="threading", executor=pool)
        return results_of(summary, n)

    try:
        record = _measure("greenflow-threading", n, shared, run_all, None, 3 if n <= 1000 else 1, profile)
    finally:
        pool.shutdown(wait=True)
    # run_many loads every engine before stepping any (concurrency=n): all are in flight at once.
    record["peak_in_flight"] = n
    # With every engine in flight at once, the pool bounds the wall time.
    record["pool_threads"] = THREADING_POOL_SIZE
    record["pool_floor_s"] = round(_pool_floor_s(n), 3)
    return record


def _pool_floor_s(n: int) -> float:
    """A lower bound of the wall time of ``n`` engines whose 5 sleeps share the pool's threads."""
    return max(IDEAL_S, -(-5 * n // THREADING_POOL_SIZE) * TASK_SLEEP_S)


def child_taskflow_threads(n: int, profile: bool) -> dict[str, Any]:
    import threading
    import warnings

    warnings.simplefilter("ignore")  # TaskFlow imports eventlet, which warns that it is deprecated
    from taskflow import engines

    make = _taskflow_flow_factory()

    def load_and_run(i: int) -> Any:
        _InFlight.enter()
        engine = engines.load(make(), store={"x": i}, engine="serial")
        engine.run()
        _InFlight.leave()
        if engine.storage.get_flow_state() != "SUCCESS":
            return None
        return engine.storage.fetch("e")

    assert load_and_run(0) == _expected(0)

    def run_all(sampler: _Sampler) -> list[Any]:
        results: list[Any] = [None] * n

        def one(i: int) -> None:
            results[i] = load_and_run(i)

        for wave in range(0, n, TASKFLOW_THREAD_CAP):
            threads = [
                threading.Thread(target=one, args=(i,))
                for i in range(wave, min(n, wave + TASKFLOW_THREAD_CAP))
            ]
            for thread in threads:
                thread.start()
            sampler.note()
            for thread in threads:
                thread.join()
        return results

    record = _measure("taskflow-threads", n, False, run_all, None, 1, profile)
    record["impl_floor_s"] = TASKFLOW_SERIAL_FLOOR_S
    record["waves"] = -(-n // TASKFLOW_THREAD_CAP)
    return record


def child_taskflow_eventlet(n: int, profile: bool) -> dict[str, Any]:
    import warnings

    warnings.simplefilter("ignore")  # eventlet warns that it is deprecated
    import eventlet

    eventlet.monkey_patch()
    from taskflow import engines

    make = _taskflow_flow_factory()

    def load_and_run(i: int) -> Any:
        _InFlight.enter()
        engine = engines.load(make(), store={"x": i}, engine="parallel", executor="greenthreaded")
        engine.run()
        _InFlight.leave()
        if engine.storage.get_flow_state() != "SUCCESS":
            return None
        return engine.storage.fetch("e")

    assert load_and_run(0) == _expected(0)

    def run_all(sampler: _Sampler) -> list[Any]:
        threads = [eventlet.spawn(load_and_run, i) for i in range(n)]
        return [thread.wait() for thread in threads]

    return _measure("taskflow-eventlet", n, False, run_all, eventlet.spawn, 1, profile)


def child_main(impl: str, n: int, shared: bool, profile: bool, in_flight: int | None = None) -> None:
    if impl in ("greenflow-gevent", "greenflow-eventlet"):
        record = child_greenflow_green(impl.split("-", 1)[1], n, shared, profile)
    elif impl in TASKFLOW_STYLE_IMPLS:
        record = child_greenflow_green(impl.split("-")[1], n, False, profile, taskflow_style=True)
    elif impl in QUIET_STYLE_IMPLS:
        hub_name = impl.split("-")[1]
        if impl.startswith("bare"):
            record = child_bare_green(hub_name, n, quiet=True)
        else:
            record = child_greenflow_green(hub_name, n, False, profile, taskflow_style=True, quiet=True)
    elif impl in STREAM_IMPLS:
        record = child_greenflow_stream(impl.split("-")[1], n, in_flight or n, impl.endswith("-quiet"))
    elif impl in POOL_IMPLS:
        record = child_bare_pool(impl.split("-")[1], n, in_flight or n, impl.endswith("-quiet"))
    elif impl in ("greenflow-gevent-many", "greenflow-eventlet-many"):
        record = child_greenflow_many(impl.split("-")[1], n, shared, profile)
    elif impl in ("greenflow-gevent-many-gc", "greenflow-eventlet-many-gc"):
        record = child_greenflow_many(impl.split("-")[1], n, shared, profile, gc_threshold=GC_THRESHOLD)
    elif impl in ("bare-gevent", "bare-eventlet"):
        record = child_bare_green(impl.split("-", 1)[1], n)
    elif impl == "greenflow-threading":
        record = child_greenflow_threading(n, shared, profile)
    elif impl == "taskflow-threads":
        record = child_taskflow_threads(n, profile)
    elif impl == "taskflow-eventlet":
        record = child_taskflow_eventlet(n, profile)
    else:
        raise SystemExit(f"unknown implementation {impl!r}; choose one of {', '.join(CHILD_IMPLS)}")
    print(json.dumps(record), flush=True)


# -- parent side: children, records, report ---------------------------------------------------


def _timeout_s(impl: str, n: int) -> float:
    # TaskFlow needs about 12 ms of CPU per engine here; the threading hub's
    # 64 threads need at least 4 ms of wall time per engine; green hubs far less.
    if impl.startswith("taskflow"):
        per_engine = 0.06
    elif impl == "greenflow-threading":
        per_engine = 0.02
    else:
        per_engine = 0.01
    return 60 + n * per_engine


def run_child(
    impl: str, n: int, shared: bool, profile: bool = False, in_flight: int | None = None
) -> dict[str, Any]:
    import subprocess

    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", impl, "--n", str(n)]
    if in_flight is not None:
        cmd += ["--in-flight", str(in_flight)]
    if not shared:
        cmd.append("--fresh-flow")
    if profile:
        cmd.append("--profile")
    env = dict(os.environ)
    env.pop("GREENFLOW_HUB", None)  # the child's own patching selects the hub
    env.pop("GREENFLOW_CONFIG", None)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(_ROOT), env.get("PYTHONPATH")) if p)
    timeout = _timeout_s(impl, n)
    base = {"bench": BENCH, "impl": impl, "n": n, "shared_flow": shared}
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env, cwd=_ROOT)
    except subprocess.TimeoutExpired:
        return emit({**base, "ok": False, "error": f"timed out after {timeout:.0f} s"})
    if profile:
        sys.stderr.write(proc.stderr)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or not lines:
        tail = " | ".join(proc.stderr.strip().splitlines()[-3:])
        return emit({**base, "ok": False, "error": f"child exited with {proc.returncode}: {tail}"})
    return emit(json.loads(lines[-1]))


def _taskflow_importable() -> tuple[bool, str]:
    import importlib.util

    if importlib.util.find_spec("taskflow") is None:
        return False, "TaskFlow is not installed in this interpreter"
    return True, ""


def _fmt(value: Any, digits: int = 2) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "NO"
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:,.{digits}f}"


def report(results: list[dict[str, Any]], quick: bool) -> None:
    import platform

    measured = [r for r in results if "wall_s" in r]
    print()
    print(f"## Concurrent I/O-bound engines{' (--quick: too small to judge)' if quick else ''}")
    print()
    print(
        f"Flow linear(A, unordered(B, C, D), E), each task sleeps {TASK_SLEEP_S * 1e3:.0f} ms: "
        f"ideal {IDEAL_S * 1e3:.0f} ms per batch. Python {platform.python_version()}, "
        f"{platform.machine()}, {os.cpu_count()} CPUs."
    )
    print()
    print(
        "| impl | flow | N | wall (s) | x ideal | CPU (s) | engines/s | peak RSS (MB) | RSS/engine (KB) "
        "| peak OS threads | peak in flight | ok |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for r in results:
        if r["impl"].startswith("bare-"):
            flow = "no engine"
        else:
            flow = "shared" if r.get("shared_flow") else "per engine"
        if "wall_s" in r:
            print(
                f"| {r['impl']} | {flow} | {r['n']:,} | {_fmt(r['wall_s'], 3)} | {_fmt(r['ratio_to_ideal'])} "
                f"| {_fmt(r['cpu_s'], 3)} | {_fmt(r['engines_per_s'], 0)} | {_fmt(r['peak_rss_mb'], 1)} "
                f"| {_fmt(r['rss_per_engine_kb'])} | {_fmt(r['peak_os_threads'])} "
                f"| {_fmt(r.get('peak_in_flight'))} | {_fmt(r['ok'])} |"
            )
        else:
            why = r.get("skipped") or r.get("error", "")
            state = "skipped" if "skipped" in r else "FAILED"
            print(f"| {r['impl']} | {flow} | {r['n']:,} | {state}: {why} | | | | | | | | |")
    print()
    print(
        "wall: best of `repeats` runs; CPU: that run's process CPU time. bare-<hub>: the same sleeps "
        "as bare green threads (hub.spawn + join), no engine: the hub's own floor on this machine."
    )
    print()
    if any(r["impl"] == "taskflow-threads" and "wall_s" in r for r in results):
        print(
            f"taskflow-threads runs TaskFlow's serial engine (B, C, D one after another: "
            f"{TASKFLOW_SERIAL_FLOOR_S * 1e3:.0f} ms floor), at most {TASKFLOW_THREAD_CAP:,} threads at once."
        )
        print()

    pairs = []
    for tf in (r for r in measured if r["impl"].startswith("taskflow")):
        for gf in (r for r in measured if r["impl"].startswith("greenflow") and r["n"] == tf["n"]):
            pairs.append((gf, tf))
    if pairs:
        print(
            "| N | greenflow | TaskFlow | TaskFlow wall / greenflow wall | RSS/engine greenflow / TaskFlow |"
        )
        print("|---:|---|---|---:|---:|")
        for gf, tf in pairs:
            label = f"{gf['impl']} ({'shared flow' if gf['shared_flow'] else 'flow per engine'})"
            rss = (
                f"{gf['rss_per_engine_kb'] / tf['rss_per_engine_kb']:.3f}"
                if tf["rss_per_engine_kb"] > 0
                else "-"
            )
            print(f"| {gf['n']:,} | {label} | {tf['impl']} | {tf['wall_s'] / gf['wall_s']:.1f}x | {rss} |")
        print()
        print(
            "RSS/engine divides the memory growth by N: compare it only where as many engines were "
            "in flight at once (`peak_in_flight`)."
        )
        print()

    print("| target | measured | result |")
    print("|---|---:|---|")
    for impl, shared in (
        ("greenflow-gevent-many", True),
        ("greenflow-gevent", True),
        ("greenflow-gevent", False),
    ):
        flow = "shared flow" if shared else "flow per engine"
        how = "run_many" if impl.endswith("-many") else "spawn + run"
        label = f"N={TARGET_N:,} on gevent ({how}, {flow}) <= {TARGET_GEVENT_S} s"
        hits = [
            r
            for r in measured
            if r["impl"] == impl and r["n"] == TARGET_N and r["shared_flow"] is shared and "wall_s" in r
        ]
        if not hits:
            print(f"| {label} | not measured | - |")
        else:
            ok = hits[0]["ok"] and hits[0]["wall_s"] <= TARGET_GEVENT_S
            print(f"| {label} | {hits[0]['wall_s']:.3f} s | {'PASS' if ok else 'MISS'} |")
    bare = next((r for r in measured if r["impl"] == "bare-gevent" and r["n"] == TARGET_N), None)
    if bare is not None:
        print(f"| (reference, no target) bare gevent, N={TARGET_N:,} | {bare['wall_s']:.3f} s | - |")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="n=50, gevent and threading only: a smoke test")
    parser.add_argument(
        "--sizes", help="comma-separated engine counts (default 1000,10000); TaskFlow runs at each"
    )
    parser.add_argument("--no-taskflow", action="store_true", help="do not run the TaskFlow comparison")
    parser.add_argument(
        "--profile",
        action="store_true",
        help="instead of the benchmark, profile greenflow-gevent at the first size (cProfile, to stderr)",
    )
    parser.add_argument("--child", choices=CHILD_IMPLS, help=argparse.SUPPRESS)
    parser.add_argument("--n", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--in-flight", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--fresh-flow", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.child:
        child_main(args.child, args.n, not args.fresh_flow, args.profile, args.in_flight)
        return 0

    if args.sizes:
        try:
            sizes = tuple(int(s) for s in args.sizes.split(","))
        except ValueError:
            parser.error(f"--sizes takes comma-separated integers, got {args.sizes!r}")
        if any(s < 1 for s in sizes):
            parser.error(f"--sizes must be positive, got {args.sizes!r}")
    else:
        sizes = (QUICK_SIZE,) if args.quick else DEFAULT_SIZES

    if args.profile:
        record = run_child("greenflow-gevent", sizes[0], shared=True, profile=True)
        return 0 if record.get("ok") else 1

    results: list[dict[str, Any]] = []
    green_impls = ("greenflow-gevent", "greenflow-threading") if args.quick else GREENFLOW_IMPLS
    bare_impls = ("bare-gevent",) if args.quick else BARE_IMPLS
    for n in sizes:
        for impl in green_impls:
            for shared in (True, False):
                results.append(run_child(impl, n, shared))
        for impl in bare_impls:
            results.append(run_child(impl, n, shared=True))

    if args.quick:
        pass
    elif args.no_taskflow:
        results.append(emit({"bench": BENCH, "impl": "taskflow", "n": 0, "skipped": "--no-taskflow"}))
    else:
        importable, why = _taskflow_importable()
        if not importable:
            results.append(emit({"bench": BENCH, "impl": "taskflow", "n": 0, "skipped": why}))
        else:
            tf_sizes = sizes if args.sizes else tuple(n for n in sizes if n in TASKFLOW_DEFAULT_SIZES)
            for n in sizes:
                for impl in TASKFLOW_IMPLS:
                    if n in tf_sizes:
                        results.append(run_child(impl, n, shared=False))
                        continue
                    # Scale this run's own TaskFlow time at the largest smaller size, linearly in n.
                    base = max(
                        (r for r in results if r["impl"] == impl and "wall_s" in r and r["n"] < n),
                        key=lambda r: r["n"],
                        default=None,
                    )
                    skip: dict[str, Any] = {
                        "bench": BENCH,
                        "impl": impl,
                        "n": n,
                        "shared_flow": False,
                        "skipped": f"TaskFlow runs at N={n:,} only when --sizes asks for it",
                    }
                    if base is not None:
                        skip["estimated_wall_s"] = round(base["wall_s"] * n / base["n"], 1)
                        skip["skipped"] += (
                            f" (about {skip['estimated_wall_s']:,.0f} s, extrapolated from N={base['n']:,})"
                        )
                    results.append(emit(skip))
                results.append(
                    emit(
                        {
                            "bench": BENCH,
                            "impl": "taskflow-gevent",
                            "n": n,
                            "shared_flow": False,
                            "skipped": TASKFLOW_GEVENT_SKIP,
                        }
                    )
                )

    report(results, args.quick)
    return 0 if all(r.get("ok", True) for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
