"""Many engines on one green hub: a thousand runs at once, in one OS thread, on the shared executor."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable

import pytest

import greenflow.hubs
from greenflow import FunctorTask, LinearFlow, UnorderedFlow, load, states
from greenflow.hubs import Hub

pytestmark = pytest.mark.skipif(
    not greenflow.hubs.get_hub().is_green,
    reason="green hubs only: on the threading hub many engines share a bounded pool through"
    " run_many, whose tests cover that case",
)

ENGINES = 1000
NAP = 0.05  # every task sleeps this long through time.sleep (patched by the green hub)


def first(n: int) -> int:
    time.sleep(NAP)
    return n


def plus_one(a: int) -> int:
    time.sleep(NAP)
    return a + 1


def plus_two(a: int) -> int:
    time.sleep(NAP)
    return a + 2


def plus_three(a: int) -> int:
    time.sleep(NAP)
    return a + 3


def total(b: int, c: int, d: int) -> int:
    time.sleep(NAP)
    return b + c + d


def make_flow() -> LinearFlow:
    """``linear(A, unordered(B, C, D), E)``: E gets ``3 * n + 6`` for an injected ``n``."""
    return LinearFlow("many").add(
        FunctorTask(first, name="A", provides="a"),
        UnorderedFlow("middle").add(
            FunctorTask(plus_one, name="B", provides="b"),
            FunctorTask(plus_two, name="C", provides="c"),
            FunctorTask(plus_three, name="D", provides="d"),
        ),
        FunctorTask(total, name="E", provides="e"),
    )


def os_thread_count() -> int | None:
    """The process's real OS threads (Linux), which monkey patching cannot hide; else ``None``."""
    try:
        return len(os.listdir("/proc/self/task"))
    except OSError:
        return None


def test_a_thousand_parallel_engines_run_at_once_without_new_threads(
    hub: Hub, live_greenlets: Callable[[], int]
) -> None:
    # Warm-up: the hub's own long-lived helpers (its loop greenlet, say) start on first use.
    load(make_flow(), store={"n": 0}, engine="parallel").run()
    engines = [load(make_flow(), store={"n": n}, engine="parallel") for n in range(ENGINES)]
    threads_before, os_threads_before = threading.active_count(), os_thread_count()
    greenlets_before = live_greenlets()
    samples: list[tuple[int, int | None]] = []
    stop = hub.Event()

    def sample() -> None:
        while not stop.wait(0.005):
            samples.append((threading.active_count(), os_thread_count()))

    sampler = hub.spawn(sample)
    runners = [hub.spawn(engine.run) for engine in engines]
    for runner in runners:
        runner.join(30)
    stop.set()
    sampler.join(5)

    assert [engine.storage.get_flow_state() for engine in engines] == [states.SUCCESS] * ENGINES
    assert [engine.storage.fetch("e") for engine in engines] == [3 * n + 6 for n in range(ENGINES)]
    # Sampled while the engines ran (each run takes at least three naps).
    assert len(samples) >= 3
    assert {count for count, _ in samples} == {threads_before}
    assert threading.active_count() == threads_before
    if os_threads_before is not None:
        # Never more; maybe fewer, when an idle helper thread of the hub (its
        # offload pool, say) retires meanwhile.
        assert max(count or 0 for _, count in samples) <= os_threads_before
        assert (os_thread_count() or 0) <= os_threads_before
    hub.sleep(0.01)  # let finished green threads unwind
    assert live_greenlets() <= greenlets_before  # none left behind (an older one may have ended)
