"""What the adapter refuses, and how precisely it says so (run in this process, on compat's taskflow)."""

from __future__ import annotations

import pytest
from taskflow import task as _task


@pytest.fixture(scope="module", autouse=True)
def _compat_taskflow() -> None:
    import taskflow

    if not getattr(taskflow, "GREENFLOW_COMPAT", False):
        pytest.fail(
            f"taskflow comes from {taskflow.__file__}, which is not greenflow's adapter: "
            f"run with PYTHONPATH=compat:. or install ./compat (never together with real TaskFlow)"
        )


def _flow():  # type: ignore[no-untyped-def]
    from taskflow import task
    from taskflow.patterns import linear_flow

    class Nop(task.Task):
        def execute(self) -> None:
            pass

    return linear_flow.Flow("f").add(Nop("nop"))


def test_worker_based_engine_needs_its_broker_and_topics_and_owns_its_options() -> None:
    from taskflow import engines

    with pytest.raises(TypeError, match="needs url="):
        engines.load(_flow(), engine="worker-based", topics=["a"])
    with pytest.raises(TypeError, match="needs topics="):
        engines.load(_flow(), engine="worker-based", transport="memory")
    with pytest.raises(TypeError, match="'topics' belongs to engine='worker-based', not 'parallel'"):
        engines.load(_flow(), engine="parallel", topics=["a"])


def test_a_worker_based_engines_executor_is_shut_down_off_the_thread_collecting_it() -> None:
    # The engine owns its executor and shuts it down once collected. The garbage collector
    # runs in whatever thread allocates: one may hold a lock the shutdown needs (kombu's
    # memory transport closes its queues under the mutex a thread inside Queue.get holds),
    # which deadlocked TaskFlow's worker tests. The shutdown must happen on another thread.
    import gc
    import threading

    from taskflow import engines

    engine = engines.load(_flow(), engine="worker-based", transport="memory", topics=["t"], exchange="x")
    executor = engine.greenflow_engine.options.executor
    held = threading.Lock()
    seen: list[tuple[bool, str]] = []
    done = threading.Event()
    real_shutdown = executor.shutdown

    def shutdown(*args: object, **kwargs: object) -> None:
        got = held.acquire(timeout=2.0)  # inline in the collecting thread, this could never succeed
        seen.append((got, threading.current_thread().name))
        if got:
            held.release()
        real_shutdown()
        done.set()

    executor.shutdown = shutdown
    with held:
        del engine
        gc.collect()
    assert done.wait(10.0)
    assert seen == [(True, "taskflow-executor-shutdown")]


def test_unknown_engine_is_not_found() -> None:
    from taskflow import engines, exceptions

    with pytest.raises(exceptions.NotFound, match="Could not find engine 'turbo'"):
        engines.load(_flow(), engine="turbo")


def test_misspelt_option_is_an_error_not_ignored() -> None:
    from taskflow import engines

    with pytest.raises(TypeError, match="unknown engine option 'max_worker'"):
        engines.load(_flow(), engine="parallel", max_worker=2)


def test_options_greenflow_does_not_have_are_passed_through_to_engine_options() -> None:
    from taskflow import engines

    engine = engines.load(_flow(), pass_1=1, pass_2=2)
    assert engine.options == {"pass_1": 1, "pass_2": 2}
    engine.run()


def test_flow_from_detail_says_what_is_missing_as_taskflow_does() -> None:
    from taskflow import engines
    from taskflow.utils import persistence_utils

    _book, detail = persistence_utils.temporary_flow_detail()
    with pytest.raises(ValueError, match=r"^Cannot .* no factory information saved\.$"):
        engines.flow_from_detail(detail)
    detail.meta["factory"] = {"name": "no such module.factory"}
    with pytest.raises(ImportError, match=r"^Could not import factory"):
        engines.flow_from_detail(detail)


def make_a_task(name):  # type: ignore[no-untyped-def]
    from taskflow import task

    class Nop(task.Task):
        def execute(self) -> None:
            pass

    return Nop(name)


def test_a_factory_may_return_a_lone_task_which_the_engine_keeps_as_given() -> None:
    from taskflow import engines

    engine = engines.load_from_factory(make_a_task, factory_kwargs={"name": "solo"})
    assert engine._flow.name == "solo" and not hasattr(engine._flow, "iter_atoms")
    assert engine.storage.flow_detail.name == "solo"
    engine.run()
    again = engines.flow_from_detail(engine.storage.flow_detail)
    assert type(again).__name__ == "Nop"


def test_load_takes_what_is_not_a_flow_and_compiling_it_raises_as_in_taskflow() -> None:
    from taskflow import engines
    from taskflow.engines.action_engine import engine as action_engine

    class NotAFlow:
        pass

    engine = engines.load(NotAFlow)
    assert isinstance(engine, action_engine.SerialActionEngine)
    for step in (engine.compile, engine.validate, engine.run, lambda: list(engine.run_iter())):
        with pytest.raises(TypeError, match="NotAFlow"):
            step()


def test_green_executor_without_a_green_hub_says_how_to_fix_it() -> None:
    from taskflow import engines

    from greenflow.executors import GreenHubRequiredError

    with pytest.raises(GreenHubRequiredError, match="needs a green hub"):
        engines.run(_flow(), engine="parallel", executor="greenthreaded", hub="threading")


def _t(name: str, provides=None, requires=None):  # type: ignore[no-untyped-def]
    from taskflow import task

    class T(task.Task):
        def execute(self, **kwargs):  # type: ignore[no-untyped-def]
            return name

    return T(name, provides=provides, requires=requires)


def test_flow_patterns_print_and_iterate_their_nodes_as_taskflow_does() -> None:
    from taskflow.patterns import graph_flow, linear_flow, unordered_flow

    a, b = _t("a"), _t("b")
    assert str(linear_flow.Flow("l").add(a, b)) == '"linear_flow.Flow: l(len=2)"'
    assert str(unordered_flow.Flow("u")) == '"unordered_flow.Flow: u(len=0)"'
    assert str(graph_flow.TargetedFlow("t")) == '"graph_flow.TargetedFlow: t(len=0)"'
    assert list(graph_flow.Flow("g").add(a, b).iter_nodes()) == [(a, {}), (b, {})]


def test_graph_flow_errors_are_worded_as_taskflow_words_them() -> None:
    from taskflow import exceptions
    from taskflow.patterns import graph_flow

    one, two = _t("one", provides="x"), _t("two", requires=["x"])
    flow = graph_flow.Flow("g").add(one)
    with pytest.raises(ValueError, match=r"^Node .* not found to link to"):
        flow.link(one, two)
    with pytest.raises(ValueError, match=r"^Node .* not found to link from"):
        flow.link(two, one)
    flow.add(two)
    with pytest.raises(exceptions.DependencyFailure, match=r"^No path through .*'one' -> 'two' -> 'one'"):
        flow.link(two, one)
    with pytest.raises(exceptions.DependencyFailure, match=r"^No path"):
        graph_flow.Flow("c").add(_t("p", provides="a", requires=["b"]), _t("q", provides="b", requires=["a"]))
    targeted = graph_flow.TargetedFlow("t").add(one)
    with pytest.raises(ValueError, match=r"^Node .* not found"):
        targeted.set_target(two)


def test_targeted_graph_flow_runs_only_what_its_target_needs() -> None:
    from taskflow import engines
    from taskflow.patterns import graph_flow

    one, two, other = _t("one", provides="x"), _t("two", requires=["x"]), _t("other", provides="y")
    flow = graph_flow.TargetedFlow("t").add(one, two, other)
    flow.set_target(two)
    engine = engines.load(flow)
    engine.run()
    assert engine.storage.fetch_all() == {"x": "one"}


def test_taskflow_exception_names_are_greenflow_classes() -> None:
    from taskflow import exceptions

    from greenflow import exceptions as gf

    assert exceptions.MissingDependencies is gf.MissingDependencyError
    assert exceptions.NotFound is gf.NotFoundError
    assert exceptions.WrappedFailure is gf.WrappedFailure
    assert issubclass(exceptions.RequestTimeout, exceptions.ExecutionFailure)
    assert exceptions.JobFailure is gf.JobError
    assert exceptions.UnclaimableJob is gf.UnclaimableJobError
    err = exceptions.ConductorFailure("conductor lost", cause=ValueError("x"))
    assert isinstance(err, exceptions.TaskFlowException)
    assert isinstance(err.cause, ValueError)
    assert "ValueError: x" in err.pformat()


def test_engine_conf_is_deprecated_but_honoured() -> None:
    from taskflow import engines

    with pytest.warns(DeprecationWarning, match="engine_conf"):
        engine = engines.load(_flow(), engine_conf={"engine": "parallel", "executor": "threaded"})
    assert engine.options == {"executor": "threaded"}  # TaskFlow's: the engine's name is not an option
    assert engine.greenflow_engine.options.engine == "parallel"


def test_taskflow_spellings_live_in_compat_and_reach_the_core_as_its_own_names() -> None:
    from taskflow import engines
    from taskflow.patterns import graph_flow, linear_flow, unordered_flow

    import greenflow.patterns

    assert issubclass(linear_flow.Flow, greenflow.patterns.LinearFlow)
    assert issubclass(unordered_flow.Flow, greenflow.patterns.UnorderedFlow)
    assert issubclass(graph_flow.Flow, greenflow.patterns.GraphFlow)
    for spelling, core in [("threaded", "thread"), ("processes", "process"), ("threads", "thread")]:
        engine = engines.load(_flow(), engine="parallel", executor=spelling)
        assert engine.greenflow_engine.options.executor == core
    assert engines.load(_flow(), engine="default").greenflow_engine.options.engine == "serial"
    engine = engines.load(_flow())
    assert [state for state in engine.iter_run() if state != "WAITING"][-1] == "SUCCESS"


def test_run_iter_waits_for_running_atoms_itself_as_taskflow_does():
    import time as _time

    from taskflow import engines, task
    from taskflow.patterns import unordered_flow

    class Slow(task.Task):
        def execute(self):
            _time.sleep(0.2)
            return 1

    flow = unordered_flow.Flow("slow").add(Slow("a"), Slow("b"))
    engine = engines.load(flow, engine="parallel", executor="threaded", max_workers=2)
    seen = list(engine.run_iter())  # a caller that only iterates, as TaskFlow's examples do
    assert seen[-1] == "SUCCESS"
    assert seen.count("WAITING") <= 4  # one per finished atom or so: never a busy loop


def test_an_exception_thrown_into_run_iter_reaches_the_engine_which_records_failure():
    from taskflow import engines, states

    engine = engines.load(_flow())
    run = engine.run_iter()
    assert next(run) == "RESUMING"
    assert next(run) == "SCHEDULING"
    with pytest.raises(OSError, match="I broke"):
        run.throw(OSError("I broke"))
    assert engine.storage.get_flow_state() == states.FAILURE


@pytest.mark.timeout(30)
def test_a_futurist_green_pool_in_an_unpatched_process_runs_the_atoms():
    futurist = pytest.importorskip("futurist")
    pytest.importorskip("eventlet")
    import warnings

    from taskflow import engines, task
    from taskflow.patterns import unordered_flow

    class Double(task.Task):
        def execute(self, x):
            return 2 * x

    flow = unordered_flow.Flow("rows").add(
        *(Double(f"d{i}", provides=f"y{i}", inject={"x": i}) for i in range(5))
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # futurist's eventlet pool is deprecated
        pool = futurist.GreenThreadPoolExecutor(max_workers=2)
        try:
            engine = engines.load(flow, engine="parallel", executor=pool)
            engine.run()  # hung before: the pool's green threads never got to run
        finally:
            pool.shutdown()
    assert [engine.storage.fetch(f"y{i}") for i in range(5)] == [0, 2, 4, 6, 8]


def test_tasks_print_as_taskflow_prints_them_and_save_as_is_a_mapping() -> None:
    from taskflow import task

    import greenflow.atoms

    class Boot(task.Task):
        version = (2, 1)

        def execute(self) -> str:
            return "ok"

    boot = Boot("boot", provides=("ip", "port"))
    assert isinstance(boot, greenflow.atoms.Task)
    assert str(boot) == '"boot==2.1"'
    assert repr(boot) == f'<{__name__}.{Boot.__qualname__} "boot==2.1">'
    assert boot.save_as == {"ip": 0, "port": 1}
    assert repr(greenflow.atoms.FunctorTask(len, name="n")) == "FunctorTask(name='n')"  # greenflow's own


def test_a_task_as_a_flows_retry_counts_in_its_requires_but_does_not_compile() -> None:
    from taskflow import engines, exceptions
    from taskflow.patterns import linear_flow

    flow = linear_flow.Flow("lf", _t("rt", provides="x", requires=["x"]))
    assert flow.requires == {"x"} and flow.provides == {"x"}
    with pytest.raises(exceptions.CompilationFailure, match="which is not a Retry"):
        engines.load(flow, store={"x": 1}).compile()


def test_an_engines_task_executor_is_the_kind_taskflow_would_run_it_on() -> None:
    import warnings

    import taskflow.engines
    from taskflow.engines.action_engine import executor

    def kind(**options):  # type: ignore[no-untyped-def]
        return type(taskflow.engines.load(_flow(), **options)._task_executor)

    assert kind() is executor.SerialTaskExecutor
    assert kind(engine="parallel") is executor.ParallelThreadTaskExecutor
    assert kind(engine="parallel", executor="threads") is executor.ParallelThreadTaskExecutor
    assert kind(engine="parallel", executor="processes") is executor.ParallelProcessTaskExecutor
    pytest.importorskip("eventlet")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # eventlet and futurist's eventlet pool are deprecated
        import futurist

        with futurist.ThreadPoolExecutor(1) as pool:
            assert kind(engine="parallel", executor=pool) is executor.ParallelThreadTaskExecutor
        green = futurist.GreenThreadPoolExecutor()
        try:
            assert kind(engine="parallel", executor=green) is executor.ParallelGreenThreadTaskExecutor
        finally:
            green.shutdown()


class Chunks(_task.Task):
    """Reports each chunk as progress (module level: a worker imports it by module and name)."""

    def execute(self, chunks):  # type: ignore[no-untyped-def]
        for chunk in chunks:
            self.update_progress(chunk)
        return len(chunks)


@pytest.mark.timeout(60)
def test_progress_a_task_reports_on_a_worker_reaches_the_flows_task_object():
    from taskflow import engines, task
    from taskflow.engines.worker_based import worker
    from taskflow.patterns import linear_flow

    shared = {"exchange": "progress", "transport": "memory", "transport_options": {"polling_interval": 0.01}}
    w = worker.Worker(topic="progress-topic", tasks=[__name__], **shared)
    import threading

    thread = threading.Thread(target=w.run, daemon=True)
    thread.start()
    try:
        w.wait()
        heard = []
        work = Chunks("work")
        work.notifier.register(task.EVENT_UPDATE_PROGRESS, lambda event, details: heard.append(details))
        engine = engines.load(
            linear_flow.Flow("f").add(work),
            store={"chunks": (0.2, 0.5)},
            engine="worker-based",
            topics=["progress-topic"],
            **shared,
        )
        engine.run()
        assert heard == [{"progress": 0.0}, {"progress": 0.2}, {"progress": 0.5}, {"progress": 1.0}]
    finally:
        w.stop()
        thread.join(10)


def test_a_times_subclass_gives_up_with_taskflows_revert_action_as_octavia_writes_it() -> None:
    from taskflow import engines, retry
    from taskflow.patterns import linear_flow

    class SleepingRetry(retry.Times):  # Octavia's retry controllers: positional arguments
        def __init__(self, attempts=1, name=None, provides=None, requires=None,  # type: ignore[no-untyped-def]
                     auto_extract=True, rebind=None, revert_all=False, interval=0):  # fmt: skip
            super().__init__(attempts, name, provides, requires, auto_extract, rebind, revert_all)
            self._interval = interval

        def on_failure(self, history, *args, **kwargs):  # type: ignore[no-untyped-def]
            if len(history) < self._attempts:
                return retry.RETRY
            return self._revert_action

    assert SleepingRetry(2, "r")._revert_action == retry.REVERT
    assert SleepingRetry(2, "r", revert_all=True)._revert_action == retry.REVERT_ALL
    assert retry.ForEach([1], "f")._revert_action == retry.REVERT
    from taskflow import task

    runs: list[int] = []

    class Boom(task.Task):
        def execute(self, attempt):  # type: ignore[no-untyped-def]
            runs.append(attempt)
            raise RuntimeError(f"attempt {attempt} failed")

    flow = linear_flow.Flow("f", retry=SleepingRetry(3, "r", provides="attempt")).add(Boom("boom"))
    engine = engines.load(flow)
    with pytest.raises(RuntimeError):
        engine.run()
    assert runs == [1, 2, 3] and engine.storage.get_flow_state() == "REVERTED"
