"""``run_many`` on this process's hub (see tests/hubs/run.py), on the hub's shared executor.

Under a green hub each engine is a green thread; under ``threading`` one driver
thread steps every engine. The behaviours are the same: one outcome per item,
failures kept apart, a lazily consumed input, a concurrency bound, callbacks in
the driving thread, and cancellation. On green hubs, thousands of sleeping
engines run at once in one OS thread.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from support.doubles import (
    PATIENCE,
    Add,
    Boom,
    Enter,
    InFlight,
    Leave,
    Nap,
    Record,
    by_index,
    collections_seen,
    diamond,
    held,
    os_thread_count,
    tracked,
)

import greenflow.hubs
from greenflow import LinearFlow, Task, UnorderedFlow, load, run_many, states
from greenflow.engines import ManyRunner, Outcome
from greenflow.exceptions import EngineStateError, InvalidOptionError, MissingDependencyError
from greenflow.hubs import Hub
from greenflow.patterns import Flow

#: Bound for every wait on an event in these tests: reached only if run_many is broken.
# -- outcomes ---------------------------------------------------------------------------------


def test_a_batch_returns_one_outcome_per_item_with_its_results(hub: Hub):
    items = [(LinearFlow(f"sum-{n}").add(Add(provides="total")), {"x": n, "y": 100}) for n in range(12)]

    summary = run_many(items, concurrency=5)

    assert (summary.total, summary.succeeded, summary.failed, summary.cancelled) == (12, 12, 0, False)
    outcomes = by_index(summary.outcomes)
    assert [(o.index, o.name, o.state) for o in outcomes] == [
        (n, f"sum-{n}", states.SUCCESS) for n in range(12)
    ]
    assert [o.results["total"] for o in outcomes] == [n + 100 for n in range(12)]
    assert all(o.failure is None and o.engine is None for o in outcomes)


def test_a_failing_engine_reverts_with_its_exception_and_the_others_succeed(hub: Hub):
    error = ValueError("quota exceeded for item 3")
    flows = [diamond(f"ok-{n}") for n in range(8)]
    flows[3] = LinearFlow("bad-3").add(Nap("A"), Boom("B", error))

    summary = run_many(flows, concurrency=3)

    assert summary.counts == {states.SUCCESS: 7, states.REVERTED: 1}
    (failed,) = summary.failures()
    assert (failed.index, failed.state) == (3, states.REVERTED)
    assert failed.failure is not None and failed.failure.exception is error


def test_items_that_cannot_run_fail_alone(hub: Hub):
    items = [diamond("first"), 42, LinearFlow("needs-x").add(Add(provides="total")), diamond("last")]

    summary = run_many(items, store={"y": 1})

    first, not_a_flow, missing, last = by_index(summary.outcomes)
    assert (first.state, last.state) == (states.SUCCESS, states.SUCCESS)
    assert not_a_flow.state == states.FAILURE and not_a_flow.failure is not None
    assert not_a_flow.failure.check(InvalidOptionError)
    assert "item 1 is int 42" in not_a_flow.failure.exception_str
    assert (missing.name, missing.state) == ("needs-x", states.FAILURE)
    assert missing.failure is not None and missing.failure.check(MissingDependencyError)
    assert "requires 'x'" in missing.failure.exception_str


def test_pairs_preloaded_engines_and_a_shared_store(hub: Hub):
    preloaded = load(
        LinearFlow("loaded").add(Add(provides="total")), store={"x": 5, "y": 6}, engine="parallel"
    )
    items = [
        LinearFlow("shared").add(Add(provides="total")),
        (LinearFlow("paired").add(Add(provides="total")), {"x": 1000}),
        preloaded,
    ]

    summary = run_many(items, store={"x": 1, "y": 2}, keep_engines=True)

    shared, paired, loaded = by_index(summary.outcomes)
    assert (shared.results["total"], paired.results["total"], loaded.results["total"]) == (3, 1002, 11)
    assert loaded.engine is preloaded


def test_keep_outcomes_and_collect_results_can_be_turned_off(hub: Hub):
    counted = run_many([diamond("a"), diamond("b")], keep_outcomes=False)
    bare = run_many([diamond("c"), diamond("d")], collect_results=False)

    assert (counted.outcomes, counted.counts) == ((), {states.SUCCESS: 2})
    assert [outcome.results for outcome in bare.outcomes] == [None, None]


def test_the_same_engine_twice_in_flight_fails_the_second_and_runs_the_first(hub: Hub):
    engine = load(diamond("twice"), engine="parallel")

    summary = run_many([engine, engine], concurrency=2)

    first, second = by_index(summary.outcomes)
    assert first.state == states.SUCCESS
    assert second.state == states.FAILURE and second.failure is not None
    assert second.failure.check(EngineStateError)
    assert "is already running" in second.failure.exception_str


# -- how it runs ------------------------------------------------------------------------------


def test_the_input_is_consumed_lazily(hub: Hub):
    finished: list[int] = []
    ahead: list[int] = []  # items pulled and not finished, measured at each pull
    concurrency = 4

    def stream() -> Iterator[Flow]:
        for n in range(30):
            ahead.append(n - len(finished))
            yield diamond(f"lazy-{n}", seconds=0.001)

    summary = run_many(stream(), concurrency=concurrency, on_result=lambda o: finished.append(o.index))

    assert summary.total == len(ahead) == 30
    assert max(ahead) <= concurrency + 1


def test_concurrency_bounds_the_engines_in_flight(hub: Hub):
    concurrency = 5
    tracker = InFlight(hub, target=concurrency)

    summary = run_many([tracked(f"bounded-{n}", tracker) for n in range(25)], concurrency=concurrency)

    assert summary.succeeded == 25
    assert tracker.reached.is_set()  # the bound is used ...
    assert tracker.most == concurrency  # ... and never passed


def test_on_result_is_called_once_per_engine_in_the_driving_thread(hub: Hub):
    calls: list[tuple[int, int]] = []

    run_many(
        [diamond(f"reported-{n}") for n in range(15)],
        concurrency=4,
        on_result=lambda o: calls.append((o.index, threading.get_ident())),
    )

    assert sorted(index for index, _ in calls) == list(range(15))
    assert {ident for _, ident in calls} == {threading.get_ident()}


# -- cancellation -----------------------------------------------------------------------------


def test_cancel_from_on_result_starts_nothing_more_and_suspends_the_running_engines(hub: Hub):
    release = hub.Event()
    started: list[str] = []
    ran: list[str] = []
    pulled: list[int] = []
    pulled_at_cancel: list[int] = []

    def stream() -> Iterator[Flow]:
        for n in range(40):
            pulled.append(n)
            yield (
                LinearFlow(f"quick-{n}").add(Nap(f"quick-{n}-a", 0))
                if n < 3
                else held(f"held-{n}", release, started, ran)
            )

    def on_result(outcome: Outcome) -> None:
        if outcome.name.startswith("quick") and runner.finished == 3:
            runner.cancel()
            pulled_at_cancel.append(len(pulled))
            release.set()

    runner = ManyRunner(stream(), concurrency=5, on_result=on_result)
    summary = runner.run()

    assert summary.cancelled
    assert len(pulled) == pulled_at_cancel[0] < 40
    assert summary.total == len(pulled)
    assert summary.counts[states.SUCCESS] == 3
    rest = [outcome for outcome in summary.outcomes if outcome.name.startswith("held")]
    assert rest and {outcome.state for outcome in rest} <= {states.SUSPENDED, states.PENDING}
    assert {o.name for o in rest if o.state == states.SUSPENDED} == {
        name.removesuffix("-a") for name in started
    }
    assert ran == []


def test_cancel_before_an_engine_begins_means_it_never_begins(hub: Hub):
    ran: list[str] = []
    items: list[Any] = [LinearFlow(f"flow-{n}").add(Record(f"flow-{n}-a", ran)) for n in range(2)]
    items += ["not a flow"] + [LinearFlow(f"later-{n}").add(Record(f"later-{n}-a", ran)) for n in range(3)]
    # The item that cannot load is reported while the two engines before it have not begun.
    runner = ManyRunner(items, concurrency=4, on_result=lambda outcome: runner.cancel())

    summary = runner.run()

    assert summary.cancelled
    assert ran == []
    assert {o.index: o.state for o in summary.outcomes} == {
        0: states.PENDING,
        1: states.PENDING,
        2: states.FAILURE,
    }


def test_cancel_from_another_green_or_os_thread_suspends_the_running_engines(hub: Hub):
    release = hub.Event()
    started: list[str] = []
    ran: list[str] = []
    runner = ManyRunner([held(f"held-{n}", release, started, ran) for n in range(10)], concurrency=3)

    def cancel_once_three_run() -> None:
        deadline = time.monotonic() + PATIENCE
        while len(started) < 3 and time.monotonic() < deadline:
            hub.sleep(0.001)
        runner.cancel()
        release.set()

    canceller = hub.spawn(cancel_once_three_run)
    summary = runner.run()
    canceller.join(PATIENCE)

    assert summary.cancelled
    assert summary.counts == {states.SUSPENDED: 3}
    assert ran == []


# -- thousands of engines in one OS thread ----------------------------------------------------


@pytest.mark.skipif(not greenflow.hubs.get_hub().is_green, reason="green hubs only")
def test_five_thousand_sleeping_engines_run_at_once_in_one_os_thread(
    hub: Hub, live_greenlets: Callable[[], int]
) -> None:
    engines = 5000
    tracker = InFlight(hub, target=engines)
    os_threads_before, threads_before = os_thread_count(), threading.active_count()
    greenlets_before = live_greenlets()
    samples: list[tuple[int, int]] = []

    def sample(_: Any = None) -> None:
        samples.append((os_thread_count(), threading.active_count()))

    class Sampled(Nap):
        def execute(self) -> None:
            sample()
            super().execute()

    def flow(n: int) -> Flow:
        seconds = 0.02
        name = f"green-{n}"
        return LinearFlow(name).add(
            Enter(f"{name}-A", tracker, seconds=seconds),
            UnorderedFlow(f"{name}-middle").add(Sampled("B", seconds), Nap("C", seconds), Nap("D", seconds)),
            Leave(f"{name}-E", tracker, seconds),
        )

    summary = run_many(
        (flow(n) for n in range(engines)),
        concurrency=engines,
        collect_results=False,
        keep_outcomes=False,
        on_result=sample,
    )

    assert summary.counts == {states.SUCCESS: engines}
    assert tracker.most == engines  # every engine was in flight at once
    assert len(samples) == 2 * engines
    # No thread is started (one left by an earlier test may end meanwhile, hence <=).
    assert max(os_threads for os_threads, _ in samples) <= os_threads_before
    assert max(threads for _, threads in samples) <= threads_before
    hub.sleep(0.01)  # let finished green threads unwind
    assert live_greenlets() <= greenlets_before  # none left behind


@pytest.mark.skipif(not greenflow.hubs.get_hub().is_green, reason="green hubs only")
def test_loading_a_big_batch_lets_the_hub_run_the_engines_already_loaded(hub: Hub) -> None:
    # Loading 3,000 engines takes far longer than run_many's loading slice: the first
    # engines begin (their green threads run) while later items are still to be taken.
    engines = 3000
    taken = [0]
    taken_when_first_ran: list[int] = []

    class First(Task):
        def execute(self) -> None:
            if not taken_when_first_ran:
                taken_when_first_ran.append(taken[0])

    def items() -> Iterator[Flow]:
        for n in range(engines):
            taken[0] += 1
            yield LinearFlow(f"load-{n}").add(First("first"), Nap("nap", 0.001))

    summary = run_many(items(), concurrency=engines, collect_results=False, keep_outcomes=False)

    assert summary.counts == {states.SUCCESS: engines}
    assert taken_when_first_ran and taken_when_first_ran[0] < engines


def test_defer_full_gc_collects_the_young_generations_on_a_clock_on_every_hub(hub: Hub) -> None:
    # The run waits for its engines with a timeout, so its collector clock ticks while
    # nothing ends (the interpreter's own trigger kept out with a huge first threshold).
    import gc

    before = gc.get_threshold()
    with collections_seen() as seen:
        summary = run_many(
            [LinearFlow(f"slow-{k}").add(Nap("a", 0.2)) for k in range(20)],
            gc_threshold=10**9,
            defer_full_gc=True,
        )
    assert summary.counts == {states.SUCCESS: 20}
    assert len([generation for generation in seen if generation < 2]) >= 15  # some 40 in 0.2 s
    assert gc.get_threshold() == before


def test_deferred_full_gc_keeps_the_schedule_for_engines_run_outside_run_many(hub: Hub) -> None:
    # A service spawning an engine per request: the block defers full collections and a
    # green thread (a thread under threading) collects the young generations on a clock.
    import gc

    from greenflow.engines import deferred_full_gc

    before = gc.get_threshold()
    gc.set_threshold(10**9, before[1], before[2])  # the interpreter's own trigger kept out
    try:
        with collections_seen() as seen, deferred_full_gc():
            assert gc.get_threshold()[2] >= 1 << 30
            engines = [load(LinearFlow(f"own-{k}").add(Nap("a", 0.2))) for k in range(10)]
            handles = [hub.spawn(engine.run) for engine in engines]
            for handle in handles:
                handle.join()
    finally:
        gc.set_threshold(*before)
    assert all(engine.storage.get_flow_state() == states.SUCCESS for engine in engines)
    assert len([generation for generation in seen if generation < 2]) >= 15  # some 40 in 0.2 s


def test_bad_arguments_are_refused(hub: Hub):
    with pytest.raises(InvalidOptionError, match="concurrency must be an integer >= 1, got 0"):
        run_many([], concurrency=0)
    with pytest.raises(InvalidOptionError, match="on_result must be callable"):
        run_many([], on_result=42)


def _live(kind: type) -> int:
    import gc

    gc.collect()
    return sum(1 for o in gc.get_objects() if isinstance(o, kind))


def _open_files() -> int:
    import os

    return len(os.listdir("/proc/self/fd"))


def test_a_stream_of_new_flows_leaves_nothing_behind(hub: Hub) -> None:
    # A small stand-in for the million-engine benchmark row: a lazy stream of new
    # flows, many in flight, results checked as they come and none kept.
    import greenlet

    from greenflow.engines import Engine

    n, in_flight = 1500, 300
    checked: list[int] = []

    def check(outcome: Outcome) -> None:
        assert outcome.ok, outcome.failure
        assert outcome.results is not None and outcome.results["sum"] == outcome.index + 1
        checked.append(outcome.index)

    def stream() -> Iterator[tuple[Flow, dict[str, Any]]]:
        for i in range(n):
            yield (
                LinearFlow(f"f{i}").add(diamond(f"d{i}", 0.001), Add("add", provides="sum")),
                {"x": i, "y": 1},
            )

    run_many(stream(), concurrency=in_flight, on_result=check, keep_outcomes=False)  # warm the pools
    before = (_live(greenlet.greenlet), _open_files(), os_thread_count())
    checked.clear()
    summary = run_many(stream(), concurrency=in_flight, on_result=check, keep_outcomes=False)
    assert summary.succeeded == n and sorted(checked) == list(range(n))
    assert summary.outcomes == ()
    del summary
    greenlets, files, threads = before
    assert _live(greenlet.greenlet) <= greenlets
    assert _open_files() <= files
    assert os_thread_count() <= threads
    assert _live(Engine) == 0
