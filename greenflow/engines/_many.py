"""``run_many``: run a batch or a stream of flows (or engines) with a concurrency bound.

One caller drives every engine:

* under a green hub (gevent, eventlet) each engine runs as a green thread of
  the shared green executor, and its parallel atoms run there too;
* under the ``threading`` hub no engine gets a thread: the caller's thread
  steps each engine's ``run_iter()`` when one of its atoms finishes, and the
  atoms run on one shared, bounded thread pool. N engines never need N threads.

The input is consumed lazily, so a generator of a million flows is fine. One
engine's failure never stops the others; each ends in an ``Outcome``.
"""

from __future__ import annotations

import gc
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Final

from greenflow import states
from greenflow.engines._engine import WAITING, Engine
from greenflow.engines._helpers import BackendSpec, load_with_options
from greenflow.engines._options import EngineOptions
from greenflow.exceptions import InvalidOptionError
from greenflow.failure import Failure
from greenflow.patterns import Flow
from greenflow.persistence import shared_backend

__all__ = ["ManyRunner", "Outcome", "RunSummary", "deferred_full_gc", "run_many"]

#: The longest a green run_many loads engines before letting the hub run (seconds).
_LOAD_SLICE_S: Final = 0.002
#: With ``defer_full_gc``: the collector's third threshold for the run (no full collection
#: comes from the allocations of a run), and how often one is run instead (seconds).
_DEFERRED_FULL_THRESHOLD: Final = 1 << 30
_FULL_GC_EVERY_S: Final = 60.0
#: With ``defer_full_gc``: how often the run collects the youngest generation itself, and
#: every how many of those the middle one too. The interpreter starts a young collection
#: when allocations outnumber deallocations by 700; engines ending as fast as others start
#: free old objects as fast as new ones are made, so it may wait for seconds and then scan
#: a hundred thousand objects at once (74 ms measured, 10,000 engines in flight).
_YOUNG_GC_EVERY_S: Final = 0.005
_MIDDLE_GC_EVERY: Final = 10

# The collector's thresholds before the first of the runs now changing them (they are
# process-wide: runs in several green threads or threads share one setting, and the last
# to end restores it).
_GC_LOCK = threading.Lock()
_gc_runs = 0
_gc_saved: tuple[int, int, int] = (700, 10, 10)


class _CollectorClock:
    """The collector's work in small steps, as ``defer_full_gc`` promises: ``tick()`` often.

    The youngest generation every ``_YOUNG_GC_EVERY_S``, the middle one every
    ``_MIDDLE_GC_EVERY`` of those (see there why the interpreter's own trigger
    is not enough), and one full collection every ``_FULL_GC_EVERY_S``: cyclic
    garbage that outlived the young collections is freed only by a full one,
    and a run of hours must not keep it all until it ends.
    """

    __slots__ = ("_last_full", "_last_young", "_young")

    def __init__(self) -> None:
        self._last_full = self._last_young = time.monotonic()
        self._young = 0

    def tick(self) -> None:
        """Collect what is due now, if anything."""
        now = time.monotonic()
        if now - self._last_full >= _FULL_GC_EVERY_S:
            self._last_full = self._last_young = now
            gc.collect()
        elif now - self._last_young >= _YOUNG_GC_EVERY_S:
            self._last_young = now
            self._young += 1
            gc.collect(1 if self._young % _MIDDLE_GC_EVERY == 0 else 0)


@contextmanager
def deferred_full_gc(hub: Any = None) -> Iterator[None]:
    """Keep the collector's pauses short while the block runs, for engines run outside ``run_many``.

    What ``run_many(..., defer_full_gc=True)`` does for its run, for a service
    that starts an engine per request itself (``hub.spawn(engine.run)``): no
    full collection comes from allocations, a green thread of ``hub`` (a
    thread under ``threading``) collects the young generations every 5 ms and
    makes one full collection a minute. Call ``gc.freeze()`` once after
    start-up too (README, "How long the hub stalls"). The collector's
    thresholds are process-wide and restored when the last block or run that
    changed them ends::

        with greenflow.engines.deferred_full_gc():
            serve_forever()
    """
    from greenflow.hubs import resolve_hub

    resolved = resolve_hub(hub)
    clock = _CollectorClock()
    ticking = [True]

    def tick() -> None:
        while ticking[0]:
            resolved.sleep(_YOUNG_GC_EVERY_S)
            clock.tick()

    with _collector_for_run(None, True):
        resolved.spawn(tick)
        try:
            yield
        finally:
            ticking[0] = False


@contextmanager
def _collector_for_run(threshold: int | None, defer_full: bool) -> Iterator[None]:
    """Set the collector's thresholds for a run (see ``run_many``); restored when the last run ends."""
    global _gc_runs, _gc_saved
    if threshold is None and not defer_full:
        yield
        return
    with _GC_LOCK:
        if _gc_runs == 0:
            _gc_saved = gc.get_threshold()
        _gc_runs += 1
        first, second, third = gc.get_threshold()
        gc.set_threshold(
            max(first, threshold) if threshold is not None else first,
            second,
            _DEFERRED_FULL_THRESHOLD if defer_full else third,
        )
    try:
        yield
    finally:
        with _GC_LOCK:
            _gc_runs -= 1
            if _gc_runs == 0:
                gc.set_threshold(*_gc_saved)


@dataclass(frozen=True, slots=True)
class Outcome:
    """How one engine of a ``run_many`` batch ended.

    ``index`` is the item's position in the input; ``state`` the flow's final
    state (SUCCESS, REVERTED, FAILURE, SUSPENDED, or PENDING for an engine
    that had not begun when the run was cancelled); ``failure`` what it raised
    (``None`` on success); ``results`` its ``storage.fetch_all()`` when
    results are collected; ``engine`` when engines are kept.
    """

    index: int
    name: str
    state: str
    failure: Failure | None = None
    results: dict[str, Any] | None = None
    engine: Engine | None = None

    @property
    def ok(self) -> bool:
        """Whether the flow ended in SUCCESS."""
        return self.state == states.SUCCESS


@dataclass(frozen=True, slots=True)
class RunSummary:
    """What a ``run_many`` call did: counts per final state, time, and the outcomes (if kept)."""

    total: int
    counts: dict[str, int]
    seconds: float
    cancelled: bool
    outcomes: tuple[Outcome, ...] = field(default=())

    @property
    def succeeded(self) -> int:
        """How many flows ended in SUCCESS."""
        return self.counts.get(states.SUCCESS, 0)

    @property
    def failed(self) -> int:
        """How many flows did not end in SUCCESS (reverted, failed, suspended or never begun)."""
        return self.total - self.succeeded

    def failures(self) -> list[Outcome]:
        """The kept outcomes that did not succeed."""
        return [o for o in self.outcomes if not o.ok]


Item = Any  # a Flow, an Engine, or a (Flow, store) pair


class _Bell:
    """Given to a multiplexed engine as its wakeup: ringing it marks the engine ready."""

    __slots__ = ("_driver", "_key", "_ready")

    def __init__(self, ready: deque[int], key: int, driver: Any) -> None:
        self._ready = ready
        self._key = key
        self._driver = driver

    def notify(self) -> None:
        self._ready.append(self._key)
        self._driver.notify()

    def wait(self, timeout: float | None) -> None:  # the driver waits, never the engine
        raise AssertionError("a multiplexed engine is never waited on directly")

    def close(self) -> None:
        pass


class ManyRunner:
    """Runs many engines from one caller; ``run()`` returns a ``RunSummary``.

    If ``on_result`` or the input iterator raises, the run is cancelled as by
    ``cancel()`` and ``run()`` re-raises that exception once the engines in
    flight have ended (none is left running behind the caller's back).

    ``cancel()`` (from a callback, another green thread or another thread)
    stops starting new engines and suspends the running ones; they end as
    SUSPENDED and the summary says ``cancelled``. An engine already taken
    from the input but not yet begun never begins: its outcome is PENDING.
    """

    def __init__(
        self,
        items: Iterable[Item],
        *,
        concurrency: int = 1000,
        hub: Any = None,
        executor: Any = None,
        engine: str = "parallel",
        store: Mapping[str, Any] | None = None,
        on_result: Callable[[Outcome], Any] | None = None,
        keep_outcomes: bool = True,
        collect_results: bool = True,
        keep_engines: bool = False,
        gc_threshold: int | None = None,
        defer_full_gc: bool = False,
        backend: BackendSpec = None,
        **options: Any,
    ) -> None:
        if not isinstance(concurrency, int) or isinstance(concurrency, bool) or concurrency < 1:
            raise InvalidOptionError(f"run_many concurrency must be an integer >= 1, got {concurrency!r}")
        if gc_threshold is not None and (
            not isinstance(gc_threshold, int) or isinstance(gc_threshold, bool) or gc_threshold < 1
        ):
            raise InvalidOptionError(f"run_many gc_threshold must be an integer >= 1, got {gc_threshold!r}")
        self._gc_threshold = gc_threshold
        if not isinstance(defer_full_gc, bool):
            raise InvalidOptionError(f"run_many defer_full_gc must be True or False, got {defer_full_gc!r}")
        self._defer_full_gc = defer_full_gc
        self._clock = _CollectorClock() if defer_full_gc else None
        # With defer_full_gc the run wakes this often even when no engine ends (its clock ticks).
        self._gc_tick = _YOUNG_GC_EVERY_S if defer_full_gc else None
        # The process's backend for a URL or dict: its pool and writer serve every engine.
        self._backend = shared_backend(backend) if isinstance(backend, (str, dict)) else backend
        if on_result is not None and not callable(on_result):
            raise InvalidOptionError(f"run_many on_result must be callable, got {on_result!r}")
        from greenflow.executors import make_executor, shared_executor
        from greenflow.hubs import resolve_hub

        self._hub = resolve_hub(hub)
        if executor is None:
            self._executor, self._owned = shared_executor(self._hub), False
        else:
            self._executor, self._owned = make_executor(executor, hub=self._hub)
        self._items = iter(items)
        self._concurrency = concurrency
        self._store = dict(store) if store else None
        # Built (and validated) once: every flow of the batch gets the same options.
        self._engine_options = EngineOptions.build(engine, executor=self._executor, hub=self._hub, **options)
        self._on_result = on_result
        self._keep_outcomes = keep_outcomes
        self._collect_results = collect_results
        self._keep_engines = keep_engines
        self._cancelled = False
        self._error: Exception | None = None
        self._wakeup = self._hub.new_wakeup()
        self._active: dict[int, Engine] = {}
        self._outcomes: list[Outcome] = []
        self._counts: dict[str, int] = {}
        self._total = 0
        self._next_index = 0

    # -- control ----------------------------------------------------------------------------

    def cancel(self) -> None:
        """Start no more engines and suspend the running ones."""
        self._cancelled = True
        self._wakeup.notify()

    @property
    def running(self) -> int:
        """How many engines are in flight."""
        return len(self._active)

    @property
    def finished(self) -> int:
        """How many engines have ended so far."""
        return self._total

    # -- running ----------------------------------------------------------------------------

    def run(self) -> RunSummary:
        """Run every item to its end (or until cancelled); return the summary."""
        started = time.perf_counter()
        try:
            # Tens of thousands of engines in flight are millions of live objects: the
            # collector's default (a young collection every 700 allocations) then costs more
            # than the engines (gc_threshold), and each full collection scans them all while
            # every green thread waits (defer_full_gc). For this run only.
            with _collector_for_run(self._gc_threshold, self._defer_full_gc):
                if self._hub.is_green:
                    self._run_green()
                else:
                    self._run_multiplexed()
        finally:
            if self._owned:
                self._executor.shutdown(wait=True)
        if self._error is not None:
            # Raised only now: the engines in flight were suspended and have ended.
            raise self._error
        return RunSummary(
            total=self._total,
            counts=dict(self._counts),
            seconds=time.perf_counter() - started,
            cancelled=self._cancelled,
            outcomes=tuple(self._outcomes),
        )

    def _engine_for(self, index: int, item: Item) -> Engine:
        if isinstance(item, Engine):
            return item
        store = self._store
        if isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], Flow):
            item, own = item
            store = {**(store or {}), **dict(own)}
        if not isinstance(item, Flow):
            raise InvalidOptionError(
                f"run_many takes flows, engines or (flow, store) pairs; item {index} "
                f"is {type(item).__name__} {item!r}"
            )
        return load_with_options(
            item, self._engine_options, store=store, backend=self._backend, defer_creation=True
        )

    def _next_engine(self) -> tuple[int, Engine | Outcome] | None:
        """The next item's index and engine (or the outcome of an item that could not load)."""
        if self._cancelled:
            return None
        try:
            item = next(self._items)
        except StopIteration:
            return None
        except Exception as exc:  # the input itself failed: stop taking, let running engines end
            self._abort(exc)
            return None
        index = self._next_index
        self._next_index += 1
        try:
            return index, self._engine_for(index, item)
        except Exception as exc:
            name = getattr(item, "name", type(item).__name__)
            return index, Outcome(index, str(name), states.FAILURE, Failure.from_exception(exc))

    def _take_engine(self) -> tuple[int, Engine] | None:
        """The next engine to start, made active; ``None`` when at the bound or out of input.

        Items that cannot be loaded are recorded as FAILURE outcomes on the way.
        """
        while len(self._active) < self._concurrency:
            nxt = self._next_engine()
            if nxt is None:
                return None
            index, engine = nxt
            if isinstance(engine, Outcome):
                self._record(index, None, engine, None)
                continue
            self._active[index] = engine
            return index, engine
        return None

    def _record(
        self, index: int, engine: Engine | None, outcome: Outcome | None, exc: BaseException | None
    ) -> None:
        if outcome is None:
            assert engine is not None
            state = engine.storage.get_flow_state()
            failure = Failure.from_exception(exc) if exc is not None else None
            if exc is not None and state in (states.RUNNING, states.PENDING):
                state = states.FAILURE  # raised before or outside the run (e.g. validation)
            results = engine.storage.fetch_all() if self._collect_results else None
            outcome = Outcome(
                index,
                engine.storage.flow_name,
                state,
                failure,
                results,
                engine if self._keep_engines else None,
            )
        self._total += 1
        self._counts[outcome.state] = self._counts.get(outcome.state, 0) + 1
        if self._keep_outcomes:
            self._outcomes.append(outcome)
        if self._on_result is not None:
            try:
                self._on_result(outcome)
            except Exception as exc:
                self._abort(exc)

    def _abort(self, exc: Exception) -> None:
        """A callback or the input raised: cancel the run; ``run()`` re-raises once engines end."""
        if self._error is None:
            self._error = exc
        self.cancel()

    def _suspend_active(self) -> bool:
        """Suspend every engine in flight (once, on cancellation); always ``True``."""
        for engine in self._active.values():
            engine.suspend()
        return True

    # -- green: one green thread per engine --------------------------------------------------

    def _run_green(self) -> None:
        done: deque[tuple[int, Engine, BaseException | None]] = deque()
        notify = self._wakeup.notify
        submit = getattr(self._executor, "submit_callback", None)
        hub = self._hub

        def run_engine(taken: tuple[int, Engine]) -> tuple[int, Engine, BaseException | None]:
            index, engine = taken
            if self._cancelled:
                return index, engine, None  # cancelled before it began: it never begins
            try:
                engine.run()
            except Exception as exc:
                return index, engine, exc
            return index, engine, None

        def finished(_tag: None, result: tuple[int, Engine, BaseException | None]) -> None:
            done.append(result)
            notify()

        active = self._active
        exhausted = suspended = False
        clock = time.perf_counter
        while True:
            # Loading thousands of engines takes tens of milliseconds of this thread: every
            # _LOAD_SLICE_S the hub runs what is ready (engines begun, timers, I/O) meanwhile.
            slice_end = clock() + _LOAD_SLICE_S
            while not exhausted:
                taken = self._take_engine()
                if taken is None:
                    exhausted = len(active) < self._concurrency
                    break
                if submit is not None:
                    submit(run_engine, taken, finished, None)
                else:
                    hub.spawn(lambda t=taken: finished(None, run_engine(t)))
                if clock() >= slice_end:
                    hub.sleep(0)
                    slice_end = clock() + _LOAD_SLICE_S
            while done:
                index, engine, exc = done.popleft()
                del active[index]
                self._record(index, engine, None, exc)
            if self._clock is not None:
                self._clock.tick()
            if self._cancelled and not suspended:
                suspended = exhausted = self._suspend_active()
            if not active and exhausted:
                return
            if not done and (exhausted or len(active) >= self._concurrency):
                self._wakeup.wait(self._gc_tick)

    # -- threading: one driver thread steps every engine -------------------------------------

    def _run_multiplexed(self) -> None:
        ready: deque[int] = deque()
        steps: dict[int, Iterator[str]] = {}
        unbegun: set[int] = set()
        active = self._active
        exhausted = suspended = False
        driver = self._wakeup
        while True:
            if self._cancelled and not suspended:
                # Before any engine steps on: each notices when its running atoms
                # finish (their bells ring); those not yet begun never begin.
                suspended = exhausted = self._suspend_active()
            while not exhausted:
                taken = self._take_engine()
                if taken is None:
                    exhausted = len(active) < self._concurrency
                    break
                index, engine = taken
                steps[index] = engine.run_iter()
                unbegun.add(index)
                ready.append(index)
            while ready:
                if self._cancelled and not suspended:
                    break  # cancelled meanwhile (by a callback or another thread): suspend first
                index = ready.popleft()
                gen = steps.get(index)
                if gen is None:
                    continue  # a late ring for an engine that has ended
                exc: BaseException | None = None
                if index in unbegun:
                    unbegun.discard(index)
                    if suspended:
                        exc = StopIteration()  # cancelled before it began: it never begins
                    else:
                        # Given at its first step, not when taken from the input: the
                        # same engine may be in the input twice, and the second's
                        # bell must not replace the first's.
                        active[index].set_wakeup(_Bell(ready, index, driver))
                if exc is None:
                    try:
                        for state in gen:
                            if state == WAITING:
                                break
                        else:
                            exc = StopIteration()
                    except Exception as error:
                        exc = error
                if exc is None:
                    continue
                engine = active.pop(index)
                del steps[index]
                engine.set_wakeup(None)
                self._record(index, engine, None, None if isinstance(exc, StopIteration) else exc)
                if not exhausted:
                    break  # refill before stepping on
            if self._clock is not None:
                self._clock.tick()
            if not active and exhausted:
                return
            if not ready and (exhausted or len(active) >= self._concurrency):
                driver.wait(self._gc_tick)


def run_many(items: Iterable[Item], **kwargs: Any) -> RunSummary:
    """Run many flows (or engines, or ``(flow, store)`` pairs) and return a ``RunSummary``.

    Keyword arguments: ``concurrency`` (engines in flight at once, default
    1000), ``hub`` (name or hub; by default selected by configuration),
    ``executor`` (shared by every engine; by default the hub's shared
    executor: a green pool, or 64 threads on the threading hub), ``engine``
    (kind for flows, default ``'parallel'``), ``store`` (injected into every
    flow), ``on_result`` (called with each ``Outcome`` as engines end),
    ``keep_outcomes``, ``collect_results``, ``keep_engines``,
    ``backend`` (a backend object, URL or dict: every flow's run is recorded
    there, through one shared connection pool), ``gc_threshold``
    (raise the garbage collector's first threshold to this for the run: with
    10,000+ engines in flight, ``100_000`` makes the run 2-3x faster),
    ``defer_full_gc`` (``True``: no full collection comes from the run's
    allocations; the run collects the young generations itself every 5 ms and
    makes one full collection a minute: a full collection scans every live
    object while every green thread waits, 50-100 ms with 1,000 engines
    recording, and young ones collected that often stay within a few ms);
    the collector's thresholds are process-wide, set for the run and restored
    when the last run changing them ends; other keyword arguments are engine
    options. Use ``ManyRunner`` to be able to cancel.

    Under the threading hub, engines you pass already loaded keep their own
    options: one loaded as a serial engine without an executor runs its atoms
    in the driving thread, one engine at a time.
    """
    return ManyRunner(items, **kwargs).run()
