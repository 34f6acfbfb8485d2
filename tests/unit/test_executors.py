"""Executors on the threading hub: each kind, make_executor, and waiting on mixed futures."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future

import pytest

import greenflow.hubs as hubs
from greenflow.executors import (
    EXECUTOR_NAMES,
    ExecutorPicklingError,
    ExecutorShutdownError,
    GreenExecutor,
    GreenHubRequiredError,
    InvalidExecutorError,
    ProcessExecutor,
    SynchronousExecutor,
    ThreadExecutor,
    UnknownExecutorError,
    make_executor,
)

pytestmark = pytest.mark.timeout(60)


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("GREENFLOW_HUB", "GREENFLOW_CONFIG", "GREENFLOW_ALLOW_UNPATCHED"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def hub() -> hubs.Hub:
    return hubs.get_hub("threading")


@pytest.fixture
def thread_executor() -> Iterator[ThreadExecutor]:
    executor = ThreadExecutor(max_workers=4)
    yield executor
    executor.shutdown(wait=True, cancel_futures=True)


@pytest.fixture(scope="module")
def process_executor() -> Iterator[ProcessExecutor]:
    executor = ProcessExecutor(max_workers=1)
    yield executor
    executor.shutdown(wait=True)


def fail(message: str) -> None:
    raise LookupError(message)


# -- make_executor ----------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("thread", ThreadExecutor),
        ("process", ProcessExecutor),
        ("synchronous", SynchronousExecutor),
    ],
)
def test_make_executor_creates_an_owned_executor_by_name(name: str, kind: type) -> None:
    executor, owned = make_executor(name, max_workers=2)
    try:
        assert type(executor) is kind
        assert owned is True
    finally:
        executor.shutdown()


def test_make_executor_without_spec_uses_threads_on_threading_hub() -> None:
    executor, owned = make_executor(None, max_workers=3)
    try:
        assert isinstance(executor, ThreadExecutor)
        assert executor.max_workers == 3
        assert owned is True
    finally:
        executor.shutdown()


def test_make_executor_shares_a_given_executor_without_owning_it(
    thread_executor: ThreadExecutor,
) -> None:
    first, first_owned = make_executor(thread_executor)
    second, second_owned = make_executor(thread_executor)
    assert first is second is thread_executor
    assert (first_owned, second_owned) == (False, False)
    futures = [first.submit(pow, 2, 10), second.submit(pow, 3, 3)]
    assert [f.result(timeout=5) for f in futures] == [1024, 27]


def test_make_executor_refuses_an_unknown_name_listing_valid_ones() -> None:
    with pytest.raises(UnknownExecutorError) as info:
        make_executor("greenthreads")
    assert str(info.value) == (
        "unknown executor 'greenthreads'; valid names: "
        + ", ".join(EXECUTOR_NAMES)
        + " (or pass an executor object with submit() and shutdown())"
    )
    assert "greenthread, offload, process, synchronous, thread" in str(info.value)


@pytest.mark.parametrize("spelling", ["threaded", "processes", "greenthreaded", "serial"])
def test_taskflow_spellings_are_not_core_executor_names(spelling: str) -> None:
    with pytest.raises(UnknownExecutorError, match="valid names: greenthread, offload"):
        make_executor(spelling)


def test_make_executor_refuses_a_value_that_is_not_an_executor() -> None:
    with pytest.raises(InvalidExecutorError, match="got 42 of type int"):
        make_executor(42)  # type: ignore[arg-type]


@pytest.mark.parametrize("spec", ["greenthread"])
def test_green_executor_needs_a_green_hub(spec: str) -> None:
    with pytest.raises(GreenHubRequiredError) as info:
        make_executor(spec)
    assert "needs a green hub (gevent or eventlet) but the hub is 'threading' (default)" in str(info.value)


def test_green_executor_rejects_a_given_threading_hub(hub: hubs.Hub) -> None:
    with pytest.raises(GreenHubRequiredError, match=r"the hub is 'threading' \(given\)"):
        GreenExecutor(hub=hub)


def test_green_executor_needs_at_least_one_worker() -> None:
    with pytest.raises(ValueError, match="at least 1, got 0"):
        GreenExecutor(max_workers=0)


def test_threading_hub_executor_is_a_thread_executor(hub: hubs.Hub) -> None:
    executor = make_executor(None, max_workers=2, hub=hub)[0]
    try:
        assert isinstance(executor, ThreadExecutor)
    finally:
        executor.shutdown()


# -- each executor kind -----------------------------------------------------


def test_synchronous_executor_runs_inline_and_returns_a_done_future() -> None:
    executor = SynchronousExecutor()
    future = executor.submit(threading.get_ident)
    assert future.done()
    assert future.result() == threading.get_ident()
    failed = executor.submit(fail, "boom")
    assert isinstance(failed.exception(), LookupError)


def test_thread_executor_runs_on_named_pool_threads(thread_executor: ThreadExecutor) -> None:
    name = thread_executor.submit(lambda: threading.current_thread().name).result(timeout=5)
    assert name.startswith("greenflow-thread")
    failed = thread_executor.submit(fail, "boom")
    assert isinstance(failed.exception(timeout=5), LookupError)


def test_process_executor_runs_in_another_process(process_executor: ProcessExecutor) -> None:
    assert process_executor.submit(os.getpid).result(timeout=30) != os.getpid()
    assert process_executor.submit(pow, 2, 8).result(timeout=30) == 256


def test_process_executor_names_an_unpicklable_callable(
    process_executor: ProcessExecutor,
) -> None:
    with pytest.raises(ExecutorPicklingError) as info:
        process_executor.submit(lambda: 1)
    message = str(info.value)
    assert message.startswith(
        "cannot submit 'test_executors.test_process_executor_names_an_unpicklable_callable"
        ".<locals>.<lambda>' to a ProcessExecutor: the callable cannot be pickled"
    )
    assert "module-level function" in message


def test_process_executor_names_an_unpicklable_argument(
    process_executor: ProcessExecutor,
) -> None:
    with pytest.raises(ExecutorPicklingError, match=r"'builtins.print'.* its argument 'file'"):
        process_executor.submit(print, "x", file=threading.Lock())


@pytest.mark.parametrize("kind", [SynchronousExecutor, ThreadExecutor, ProcessExecutor])
def test_submit_after_shutdown_is_a_precise_runtime_error(kind: type) -> None:
    executor = kind()
    executor.shutdown()
    with pytest.raises(ExecutorShutdownError, match=r"cannot submit 'builtins.pow'.* shut down"):
        executor.submit(pow, 2, 2)
    assert issubclass(ExecutorShutdownError, RuntimeError)


# -- waiting on futures from different executors ----------------------------


def test_wait_for_any_over_thread_and_synchronous_futures(
    hub: hubs.Hub, thread_executor: ThreadExecutor
) -> None:
    slow = thread_executor.submit(time.sleep, 0.5)
    quick = SynchronousExecutor().submit(pow, 2, 2)
    done, not_done = hub.wait_for_any([slow, quick], timeout=5)
    assert (done, not_done) == ({quick}, {slow})
    done, not_done = hub.wait_for_all([slow, quick], timeout=5)
    assert (done, not_done) == ({slow, quick}, set())


def test_wait_for_all_over_thread_process_and_synchronous_futures(
    hub: hubs.Hub, thread_executor: ThreadExecutor, process_executor: ProcessExecutor
) -> None:
    futures = [
        thread_executor.submit(pow, 2, 3),
        process_executor.submit(pow, 3, 2),
        SynchronousExecutor().submit(pow, 4, 1),
    ]
    done, not_done = hub.wait_for_all(futures, timeout=30)
    assert not not_done
    assert sorted(f.result() for f in done) == [4, 8, 9]


def test_wait_for_any_is_woken_by_a_future_completed_in_another_thread(hub: hubs.Hub) -> None:
    future: Future[str] = Future()
    timer = threading.Timer(0.1, future.set_result, ["late"])
    timer.start()
    started = time.monotonic()
    done, _ = hub.wait_for_any([future], timeout=10)
    assert done == {future}
    assert time.monotonic() - started < 5


def test_wait_times_out_and_leaves_no_waiter_behind(hub: hubs.Hub) -> None:
    never: Future[None] = Future()
    for _ in range(50):
        assert hub.wait_for_any([never], timeout=0.001) == (set(), {never})
    assert never._waiters == []


def test_wait_with_nothing_to_wait_for_returns_at_once(hub: hubs.Hub) -> None:
    assert hub.wait_for_any([]) == (set(), set())
    assert hub.wait_for_all([], timeout=None) == (set(), set())


# -- the engine-executor seam: one starter per executor kind -------------------------------------


def test_starter_is_chosen_by_the_executors_kind():
    from concurrent.futures import ThreadPoolExecutor

    from greenflow.executors import FutureStarter, ProcessExecutor, SynchronousExecutor, starter_for

    with ThreadPoolExecutor(1) as plain:
        assert type(starter_for(plain)) is FutureStarter
    assert type(starter_for(SynchronousExecutor())) is FutureStarter
    process = ProcessExecutor(1)
    try:
        assert type(starter_for(process)).__name__ == "_ProcessStarter"
    finally:
        process.shutdown()


def test_an_executor_that_runs_atoms_itself_gives_the_engine_its_own_starter():
    from greenflow import LinearFlow, Task, load
    from greenflow.atoms import AtomOutcome, invoke_atom

    started: list[str] = []

    class Inline:
        inline_when_alone = False

        def start(self, action, sink, done):
            started.append(action.atom.name)
            done(action, invoke_atom(action.kind, action.atom, action.kwargs, sink))

        def outcome(self, action, raw, sink):
            raise AssertionError("an AtomOutcome is never read again")

    class OwnExecutor:
        def submit(self, fn, *args, **kwargs):
            raise AssertionError("the engine starts atoms through atom_starter(), never submit()")

        def shutdown(self, wait=True, *, cancel_futures=False):
            pass

        def atom_starter(self):
            return Inline()

    class Add(Task):
        def execute(self, x=0):
            return x + 1

    flow = LinearFlow("own").add(Add("a", provides="x"), Add("b"))
    engine = load(flow, engine="parallel", executor=OwnExecutor())
    engine.run()
    assert started == ["a", "b"]
    assert engine.storage.get("b") == 2
    assert isinstance(invoke_atom(0, Add("c"), {}), AtomOutcome)


def test_worker_executor_refuses_plain_callables():
    pytest.importorskip("kombu")
    from greenflow.workers import WorkerExecutor

    executor = WorkerExecutor("memory://", topics=["t"], exchange=f"x-{id(object())}")
    try:
        with pytest.raises(TypeError, match="runs atoms only"):
            executor.submit(print, "hello")
    finally:
        executor.shutdown()
