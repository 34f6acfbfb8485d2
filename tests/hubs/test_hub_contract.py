"""The behaviour every hub promises, run once per hub (see tests/hubs/run.py)."""

from __future__ import annotations

import os
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

import pytest

import greenflow.hubs
from greenflow.executors import GreenExecutor, ThreadExecutor, make_executor
from greenflow.hubs import Hub


def busy(seconds: float) -> str:
    """Hold the CPU (and so, if called inline, the hub) for ``seconds``."""
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        pass
    return "done"


def test_process_runs_the_hub_it_was_started_for(hub: Hub) -> None:
    assert hub.name == os.environ["GREENFLOW_HUB"]
    assert hub.is_green == (hub.name != "threading")
    assert hub.patched()
    assert greenflow.hubs.get_hub() is hub


# -- spawn, sleep and primitives --------------------------------------------


def test_spawned_functions_run_concurrently_and_join(hub: Hub) -> None:
    finished: list[int] = []
    started = hub.monotonic()
    handles = [hub.spawn(lambda n=n: (hub.sleep(0.1), finished.append(n))) for n in range(3)]
    for handle in handles:
        handle.join()
    assert sorted(finished) == [0, 1, 2]
    assert hub.monotonic() - started < 0.29


def test_join_with_timeout_returns_while_the_function_still_runs(hub: Hub) -> None:
    release = hub.Event()
    handle = hub.spawn(release.wait, 10)
    started = hub.monotonic()
    handle.join(0.05)
    assert hub.monotonic() - started < 1
    release.set()
    handle.join(5)


def test_event_wakes_its_waiter_and_can_be_cleared(hub: Hub) -> None:
    event = hub.Event()
    assert event.wait(0.01) is False
    hub.spawn(lambda: (hub.sleep(0.05), event.set()))
    assert event.wait(5) is True
    assert event.is_set()
    event.clear()
    assert not event.is_set()


def test_queue_hands_items_over_in_order(hub: Hub) -> None:
    items = hub.Queue()

    def produce() -> None:
        for n in range(5):
            items.put(n)
            hub.sleep(0.005)

    hub.spawn(produce)
    assert [items.get(timeout=5) for _ in range(5)] == [0, 1, 2, 3, 4]
    assert items.empty() and items.qsize() == 0
    with pytest.raises(queue.Empty):
        items.get_nowait()
    with pytest.raises(queue.Empty):
        items.get(timeout=0.01)


def test_lock_excludes_and_releases(hub: Hub) -> None:
    lock = hub.Lock()
    with lock:
        assert lock.acquire(blocking=False) is False
    assert lock.acquire(blocking=False) is True
    lock.release()
    rlock = hub.RLock()
    with rlock, rlock:
        pass


def test_semaphore_bounds_concurrency(hub: Hub) -> None:
    slots = hub.Semaphore(2)
    running = peak = 0

    def work() -> None:
        nonlocal running, peak
        with slots:
            running += 1
            peak = max(peak, running)
            hub.sleep(0.02)
            running -= 1

    for handle in [hub.spawn(work) for _ in range(6)]:
        handle.join(5)
    assert peak == 2


# -- waiting on futures -------------------------------------------------------


def test_wait_for_any_on_hub_executor_futures_keeps_the_hub_running(hub: Hub, ticker: Any) -> None:
    executor = make_executor(None, max_workers=10, hub=hub)[0]
    try:
        slow = executor.submit(hub.sleep, 1)
        quick = executor.submit(hub.sleep, 0.1)
        done, not_done = hub.wait_for_any([slow, quick], timeout=5)
        assert (done, not_done) == ({quick}, {slow})
        assert ticker.count >= 5
        done, not_done = hub.wait_for_all([slow, quick], timeout=5)
        assert (done, not_done) == ({slow, quick}, set())
    finally:
        executor.shutdown()


def test_wait_for_any_on_a_future_of_offloaded_work(hub: Hub, ticker: Any) -> None:
    future: Future[str] = Future()
    hub.spawn(lambda: future.set_result(hub.offload(busy, 0.3)))
    done, _ = hub.wait_for_any([future], timeout=10)
    assert done == {future}
    assert future.result() == "done"
    # While an OS thread held the CPU for 0.3 s, the hub kept running the ticker.
    assert ticker.count >= 5


@pytest.mark.skipif(
    greenflow.hubs.get_hub().name == "eventlet",
    reason="eventlet's locks (hence a Future's) are not safe across OS threads",
)
def test_wait_for_any_on_a_future_completed_inside_an_os_thread(hub: Hub, ticker: Any) -> None:
    future: Future[str] = Future()

    def complete_in_os_thread() -> None:
        future.set_result(busy(0.3))

    hub.spawn(hub.offload, complete_in_os_thread)
    done, _ = hub.wait_for_any([future], timeout=10)
    assert done == {future}
    assert ticker.count >= 5


def test_wakeup_is_rung_from_an_os_thread_without_blocking_the_hub(hub: Hub, ticker: Any) -> None:
    # The hub-internal doorbell behind wait_for_any, rung from another OS thread.
    wakeup = hub.new_wakeup()

    def ring_later() -> None:
        busy(0.2)
        wakeup.notify()

    hub.spawn(hub.offload, ring_later)
    started = hub.monotonic()
    wakeup.wait(10)
    assert hub.monotonic() - started < 5
    assert ticker.count >= 5
    wakeup.close()


def test_wait_for_any_mixes_hub_os_thread_and_done_futures(hub: Hub) -> None:
    pool = ThreadExecutor(max_workers=2)
    green = make_executor(None, max_workers=2, hub=hub)[0]
    try:
        futures = [
            pool.submit(pow, 2, 5),
            green.submit(lambda: (hub.sleep(0.05), 7)[1]),
            hub_done(3),
        ]
        done, not_done = hub.wait_for_all(futures, timeout=10)
        assert not not_done
        assert sorted(f.result() for f in done) == [3, 7, 32]
    finally:
        pool.shutdown()
        green.shutdown()


def hub_done(value: int) -> Future[int]:
    future: Future[int] = Future()
    future.set_result(value)
    return future


def test_wait_times_out_without_blocking_the_hub(hub: Hub, ticker: Any) -> None:
    never: Future[None] = Future()
    started = hub.monotonic()
    assert hub.wait_for_any([never], timeout=0.2) == (set(), {never})
    assert 0.15 < hub.monotonic() - started < 2
    assert ticker.count >= 5
    assert never._waiters == []


# -- offload ------------------------------------------------------------------


def test_offload_returns_the_result_and_keeps_the_hub_running(hub: Hub, ticker: Any) -> None:
    handle_result: list[str] = []
    handle = hub.spawn(lambda: handle_result.append(hub.offload(busy, 0.3)))
    handle.join(10)
    assert handle_result == ["done"]
    assert ticker.count >= 5


def test_offload_raises_the_exception_of_the_call(hub: Hub) -> None:
    with pytest.raises(ZeroDivisionError):
        hub.offload(divmod, 1, 0)


# -- the hub's executor -------------------------------------------------------


def test_executor_never_runs_more_than_max_workers(hub: Hub) -> None:
    executor = make_executor(None, max_workers=5, hub=hub)[0]
    running = peak = 0

    def work(n: int) -> int:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        hub.sleep(0.01)
        running -= 1
        return n

    try:
        futures = [executor.submit(work, n) for n in range(50)]
        done, not_done = hub.wait_for_all(futures, timeout=30)
        assert not not_done
        assert sorted(f.result() for f in done) == list(range(50))
        assert peak == 5
    finally:
        executor.shutdown()


def test_thousand_sleeps_finish_without_new_os_threads(hub: Hub) -> None:
    workers = 1000 if hub.is_green else 20
    executor = make_executor(None, max_workers=workers, hub=hub)[0]
    threads_before = threading.active_count()
    try:
        started = hub.monotonic()
        futures = [executor.submit(hub.sleep, 0.05) for _ in range(1000)]
        hub.sleep(0.02)
        threads_during = threading.active_count()
        done, not_done = hub.wait_for_all(futures, timeout=30)
        elapsed = hub.monotonic() - started
    finally:
        executor.shutdown()
    assert len(done) == 1000 and not not_done
    if hub.is_green:
        assert threads_during == threads_before
        assert elapsed < 1.5  # all 1000 slept at once
    else:
        assert threads_during <= threads_before + workers


@pytest.mark.skipif(greenflow.hubs.get_hub().name == "threading", reason="green executors only")
def test_green_executor_leaves_no_green_thread_behind(hub: Hub, live_greenlets: Callable[[], int]) -> None:
    executor = GreenExecutor(max_workers=10, hub=hub)
    hub.wait_for_all([executor.submit(hub.sleep, 0)], timeout=5)  # warm-up: hub's own helpers
    before = live_greenlets()
    futures = [executor.submit(hub.sleep, 0.01) for _ in range(100)]
    hub.wait_for_all(futures, timeout=10)
    hub.sleep(0.01)  # let finished green threads unwind
    assert live_greenlets() == before
    executor.shutdown()


def test_shutdown_cancels_queued_calls_and_waits_for_running_ones(hub: Hub) -> None:
    executor = make_executor(None, max_workers=1, hub=hub)[0]
    release = hub.Event()
    running = executor.submit(release.wait, 10)
    hub.sleep(0.02)
    queued = [executor.submit(pow, 2, n) for n in range(3)]
    executor.shutdown(wait=False, cancel_futures=True)
    assert all(f.cancelled() for f in queued)
    assert hub.wait_for_all(queued, timeout=1) == (set(queued), set())
    release.set()
    executor.shutdown(wait=True)
    assert running.result(timeout=1) is True
    with pytest.raises(RuntimeError):
        executor.submit(pow, 2, 2)
