"""``run_many`` specifics tested in the plain process: loading errors, options, the bounded pool.

The behaviours shared by every hub (outcomes, failures, laziness, the concurrency bound,
callbacks, cancellation) are in ``tests/hubs/test_run_many_hubs.py``, which ``tox`` runs on
the threading hub as well as on gevent and eventlet.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from support import doubles
from support.doubles import PATIENCE, Add, Boom, Hold, Nap, Record, by_index, collections_seen, diamond

from greenflow import LinearFlow, Task, UnorderedFlow, load, run_many, states
from greenflow.engines import Engine, ManyRunner, Outcome
from greenflow.exceptions import InvalidOptionError, MissingDependencyError
from greenflow.executors import ThreadExecutor
from greenflow.hubs import get_hub
from greenflow.patterns import Flow

#: Bound for every wait on an event in these tests: reached only if run_many is broken.


def InFlight(target: int = 0) -> doubles.InFlight:
    """An in-flight counter on the threading hub (this process is not patched)."""
    return doubles.InFlight(get_hub("threading"), target)


# -- outcomes ---------------------------------------------------------------------------------


def test_an_item_that_is_not_a_flow_fails_naming_its_index_and_the_others_run():
    items = [diamond("first"), 42, diamond("third")]

    summary = run_many(items)

    first, bad, third = by_index(summary.outcomes)
    assert (first.state, third.state) == (states.SUCCESS, states.SUCCESS)
    assert (bad.index, bad.state, bad.results) == (1, states.FAILURE, None)
    assert bad.failure is not None and bad.failure.check(InvalidOptionError)
    assert "item 1 is int 42" in bad.failure.exception_str
    assert summary.counts == {states.SUCCESS: 2, states.FAILURE: 1}


def test_a_flow_missing_a_requirement_fails_and_the_others_run():
    items = [diamond("first"), LinearFlow("needs-x").add(Add(provides="total")), diamond("third")]

    summary = run_many(items, store={"y": 1})

    first, missing, third = by_index(summary.outcomes)
    assert (first.state, third.state) == (states.SUCCESS, states.SUCCESS)
    assert (missing.name, missing.state) == ("needs-x", states.FAILURE)
    assert missing.failure is not None and missing.failure.check(MissingDependencyError)
    assert "requires 'x', which nothing provides or injects" in missing.failure.exception_str


# -- what it runs -----------------------------------------------------------------------------


def test_flow_store_pairs_and_preloaded_engines_run_side_by_side():
    preloaded = load(
        LinearFlow("loaded").add(Add(provides="total")), store={"x": 5, "y": 6}, engine="parallel"
    )
    items = [(LinearFlow("paired").add(Add(provides="total")), {"x": 1, "y": 2}), preloaded]

    summary = run_many(items, keep_engines=True)

    paired, loaded = by_index(summary.outcomes)
    assert (paired.name, paired.results["total"]) == ("paired", 3)
    assert (loaded.name, loaded.results["total"]) == ("loaded", 11)
    assert loaded.engine is preloaded
    assert preloaded.storage.get_flow_state() == states.SUCCESS


def test_store_reaches_every_flow_and_a_pairs_own_store_wins():
    items = [
        LinearFlow("shared").add(Add(provides="total")),
        (LinearFlow("own").add(Add(provides="total")), {"x": 1000}),
    ]

    summary = run_many(items, store={"x": 1, "y": 2})

    shared, own = by_index(summary.outcomes)
    assert shared.results["total"] == 3
    assert own.results["total"] == 1002


def test_keep_outcomes_false_keeps_only_counts():
    error = RuntimeError("no")
    flows = [diamond("a"), LinearFlow("b").add(Boom("B", error)), diamond("c")]
    reported: list[Outcome] = []

    summary = run_many(flows, keep_outcomes=False, on_result=reported.append)

    assert summary.outcomes == ()
    assert summary.counts == {states.SUCCESS: 2, states.REVERTED: 1}
    assert (summary.total, summary.succeeded, summary.failed) == (3, 2, 1)
    assert len(reported) == 3


def test_collect_results_false_leaves_results_out():
    summary = run_many([diamond("a"), diamond("b")], collect_results=False)

    assert [outcome.results for outcome in summary.outcomes] == [None, None]
    assert summary.succeeded == 2


def test_keep_engines_true_hands_back_each_engine():
    summary = run_many([diamond("a"), diamond("b")], keep_engines=True)

    for outcome in summary.outcomes:
        assert isinstance(outcome.engine, Engine)
        assert outcome.engine.storage.flow_name == outcome.name
        assert outcome.engine.storage.get_atom_state("E") == states.SUCCESS


# -- cancellation -----------------------------------------------------------------------------


def test_cancel_from_another_thread_suspends_the_running_engines():
    release = threading.Event()
    started: list[str] = []
    ran: list[str] = []
    flows = [
        LinearFlow(f"held-{n}").add(Hold(f"held-{n}-a", release, started), Record(f"held-{n}-b", ran))
        for n in range(10)
    ]
    runner = ManyRunner(flows, concurrency=3)

    def cancel_once_three_run() -> None:
        deadline = time.monotonic() + PATIENCE
        while len(started) < 3 and time.monotonic() < deadline:
            time.sleep(0.001)
        runner.cancel()
        release.set()

    canceller = threading.Thread(target=cancel_once_three_run)
    canceller.start()
    summary = runner.run()
    canceller.join(PATIENCE)

    assert summary.cancelled
    assert summary.counts == {states.SUSPENDED: 3}
    assert ran == []


# -- arguments --------------------------------------------------------------------------------


@pytest.mark.parametrize("concurrency", [0, -1, "3", 2.0, True])
def test_concurrency_must_be_a_positive_integer(concurrency):
    with pytest.raises(InvalidOptionError, match=f"concurrency must be an integer >= 1, got {concurrency!r}"):
        run_many([diamond("never")], concurrency=concurrency)


def test_on_result_must_be_callable():
    with pytest.raises(InvalidOptionError, match="on_result must be callable, got 'print'"):
        ManyRunner([diamond("never")], on_result="print")


# -- many engines, few threads ----------------------------------------------------------------


def test_two_thousand_waiting_engines_share_twenty_threads():
    pool = ThreadExecutor(max_workers=20)
    threads_before = threading.active_count()
    samples: list[int] = []

    class Sampled(Nap):
        def execute(self) -> Any:
            samples.append(threading.active_count())
            return super().execute()

    def flow(n: int) -> Flow:
        return LinearFlow(f"wide-{n}").add(
            Nap("A"),
            UnorderedFlow(f"wide-{n}-middle").add(Sampled("B"), Nap("C"), Nap("D")),
            Nap("E"),
        )

    try:
        summary = run_many(
            (flow(n) for n in range(2000)),
            executor=pool,
            collect_results=False,
            keep_outcomes=False,
            on_result=lambda outcome: samples.append(threading.active_count()),
        )
    finally:
        pool.shutdown()

    assert summary.counts == {states.SUCCESS: 2000}
    assert len(samples) == 4000
    assert max(samples) <= threads_before + 20 + 2


def test_on_result_raising_cancels_the_run_and_is_reraised_after_engines_end():
    class Wait(Task):
        def execute(self):
            time.sleep(0.01)
            return 1

    flows = (LinearFlow(f"f{i}").add(Wait("a"), Wait("b")) for i in range(50))
    seen = []

    def explode(outcome):
        seen.append(outcome)
        raise RuntimeError("callback bug")

    runner = ManyRunner(flows, concurrency=5, on_result=explode)
    with pytest.raises(RuntimeError, match="callback bug"):
        runner.run()
    # Nothing is left running behind the caller's back, and no new engine started.
    assert runner.running == 0
    assert runner.finished <= 5 + 1


def test_input_iterator_raising_is_reraised_after_running_engines_end():
    class One(Task):
        def execute(self):
            return 1

    def items():
        yield LinearFlow("ok").add(One("a"))
        raise ValueError("broken input")

    with pytest.raises(ValueError, match="broken input"):
        run_many(items())


def test_gc_threshold_applies_for_the_run_only():
    import gc

    seen = []

    class Look(Task):
        def execute(self):
            seen.append(gc.get_threshold()[0])
            return 1

    before = gc.get_threshold()
    summary = run_many([LinearFlow("g").add(Look("a"))], gc_threshold=123_456)
    assert summary.succeeded == 1
    assert seen == [123_456]
    assert gc.get_threshold() == before


def test_defer_full_gc_keeps_full_collections_out_of_the_run_and_restores_the_thresholds():
    import gc

    seen = []

    class Look(Task):
        def execute(self):
            seen.append(gc.get_threshold())
            return 1

    before = gc.get_threshold()
    summary = run_many([LinearFlow("g").add(Look("a"))], defer_full_gc=True)
    assert summary.succeeded == 1
    (during,) = seen
    assert during[:2] == before[:2]  # young collections as before
    assert during[2] >= 1 << 30  # no full collection from the run's allocations
    assert gc.get_threshold() == before


def test_runs_changing_the_collector_inside_each_other_restore_it_when_the_last_ends():
    # The thresholds are process-wide: a run started during another (here: from a task of
    # the outer one) must not restore them under the outer run's feet.
    import gc

    seen = []

    class Inner(Task):
        def execute(self):
            run_many([LinearFlow("inner").add(Look("b"))], gc_threshold=50_000)
            seen.append(("after inner", gc.get_threshold()))
            return 1

    class Look(Task):
        def execute(self):
            seen.append(("inner", gc.get_threshold()))
            return 1

    before = gc.get_threshold()
    summary = run_many([LinearFlow("outer").add(Inner("a"))], defer_full_gc=True, engine="serial")
    assert summary.succeeded == 1
    assert [what for what, _ in seen] == ["inner", "after inner"]
    inner, after = seen[0][1], seen[1][1]
    assert inner[0] == max(before[0], 50_000) and inner[2] >= 1 << 30
    assert after[2] >= 1 << 30  # the outer run still defers full collections
    assert gc.get_threshold() == before


def test_a_long_run_deferring_full_collections_still_makes_one_now_and_then(monkeypatch):
    # Cyclic garbage outliving the young collections is freed only by a full one.

    import greenflow.engines._many as many

    monkeypatch.setattr(many, "_FULL_GC_EVERY_S", 0.0)
    with collections_seen() as seen:
        summary = run_many((diamond(f"g{k}") for k in range(3)), defer_full_gc=True)
    assert summary.succeeded == 3
    assert 2 in seen


def test_a_run_deferring_full_collections_collects_the_young_ones_on_a_clock():
    # The interpreter's own trigger counts deallocations of old objects against new
    # allocations and may not fire for seconds while engines churn: the run collects the
    # young generations itself every few milliseconds, engines ending or not. (Here the
    # interpreter's trigger is kept out with a huge first threshold.)
    with collections_seen() as seen:
        summary = run_many([LinearFlow("slow").add(Nap("a", 0.3))], gc_threshold=10**9, defer_full_gc=True)
    young = [generation for generation in seen if generation < 2]
    assert summary.succeeded == 1
    assert len(young) >= 20  # some 60 in 0.3 s; a handful without the clock
    assert 1 in young  # the middle generation too, every tenth time


def test_defer_full_gc_must_be_a_bool():
    with pytest.raises(InvalidOptionError, match="defer_full_gc"):
        run_many([], defer_full_gc="yes")


@pytest.mark.parametrize("bad", [0, -5, "100", 1.5, True])
def test_gc_threshold_must_be_a_positive_integer(bad):
    with pytest.raises(InvalidOptionError, match="gc_threshold"):
        run_many([], gc_threshold=bad)
