"""Serial engine control: suspend/resume, run_iter, reset, engine states, options, validation, factories."""

from __future__ import annotations

import re
from typing import Any

import pytest

from greenflow import FunctorTask, LinearFlow, Task, Times, UnorderedFlow, load, load_from_factory, states
from greenflow.engines import flow_from_detail, load_from_detail
from greenflow.exceptions import EngineStateError, InvalidOptionError, MissingDependencyError, NotFoundError


def _states(engine: Any, names: Any) -> dict[str, str]:
    return {name: engine.storage.get_atom_state(name) for name in names}


def _executed(calls: list[tuple[str, str]]) -> list[str]:
    return [name for kind, name in calls if kind == "execute"]


class _CallsEngine(Task):
    """Calls ``action(engine)`` from inside ``execute`` (the engine is set once it is loaded)."""

    def __init__(self, name: str, action: Any, calls: list[tuple[str, str]]) -> None:
        super().__init__(name)
        self.action = action
        self.engine: Any = None
        self.calls = calls

    def execute(self):  # type: ignore[override]
        self.calls.append(("execute", self.name))
        self.action(self.engine)


def _load_with(task: _CallsEngine, flow: Any, **options: Any) -> Any:
    engine = load(flow, **options)
    task.engine = engine
    return engine


# -- suspend and resume ------------------------------------------------------------------------


def test_suspend_from_a_task_stops_the_flow_after_that_task(step, calls, listen):
    suspender = _CallsEngine("suspender", lambda engine: engine.suspend(), calls)
    engine = _load_with(suspender, LinearFlow("f").add(step("a"), suspender, step("b"), step("c")))
    events = listen(engine)
    engine.run()  # returns normally
    assert _executed(calls) == ["a", "suspender"]
    assert engine.storage.get_flow_state() == states.SUSPENDED
    assert _states(engine, ["a", "suspender", "b", "c"]) == {
        "a": states.SUCCESS,
        "suspender": states.SUCCESS,
        "b": states.PENDING,
        "c": states.PENDING,
    }
    assert events.flow == [states.RUNNING, states.SUSPENDED]


def test_run_after_suspend_resumes_without_running_finished_atoms_again(step, calls):
    suspender = _CallsEngine("suspender", lambda engine: engine.suspend(), calls)
    engine = _load_with(
        suspender, LinearFlow("f").add(step("a", provides="x"), suspender, step("b", requires="x"))
    )
    engine.run()
    suspender.action = lambda engine: None
    engine.run()
    assert _executed(calls) == ["a", "suspender", "b"]
    assert engine.storage.get_flow_state() == states.SUCCESS
    assert engine.storage.get("b") == "b"
    assert engine.statistics.runs == 2
    assert engine.statistics.atoms_executed == 3


def test_suspend_inside_a_retry_flow_resumes_with_its_history(step, calls):
    suspender = _CallsEngine("suspender", lambda engine: engine.suspend(), calls)
    flow = LinearFlow("f", retry=Times(3, provides="attempt")).add(suspender, step("b", fail=1))
    engine = _load_with(suspender, flow)
    engine.run()
    assert engine.storage.get_flow_state() == states.SUSPENDED
    suspender.action = lambda engine: None
    engine.run()
    assert engine.storage.get_flow_state() == states.SUCCESS
    assert list(engine.storage.get_retry_history("f_retry").provided_iter()) == [1, 2]


def test_suspend_during_a_revert_stops_it_and_run_finishes_it(step, calls):
    class SuspendingRevert(Task):
        engine: Any = None

        def execute(self):  # type: ignore[override]
            calls.append(("execute", self.name))

        def revert(self, **kwargs):  # type: ignore[override]
            calls.append(("revert", self.name))
            if self.engine is not None:
                self.engine.suspend()

    b = SuspendingRevert("b")
    engine = load(LinearFlow("f").add(step("a"), b, step("c", fail=True)))
    b.engine = engine
    engine.run()  # suspended: returns, raising nothing yet
    assert [name for kind, name in calls if kind == "revert"] == ["c", "b"]
    assert engine.storage.get_flow_state() == states.SUSPENDED
    assert engine.storage.get_atom_state("a") == states.SUCCESS
    calls.clear()
    b.engine = None
    with pytest.raises(RuntimeError, match="c failed"):
        engine.run()
    # The revert goes on where it stopped: nothing runs again, nothing is reverted twice.
    assert calls == [("revert", "a")]
    assert engine.storage.get_flow_state() == states.REVERTED


def test_suspend_when_not_running_has_no_effect(step, calls):
    engine = load(LinearFlow("f").add(step("a")))
    engine.suspend()
    engine.run()
    assert engine.storage.get_flow_state() == states.SUCCESS


def test_suspend_once_the_run_began_is_kept_until_its_atoms_would_start(step, calls):
    """A suspend after run_iter() yielded RUNNING (the run's atoms not yet scheduled) is not lost."""
    engine = load(LinearFlow("f").add(step("a"), step("b")))
    steps = engine.run_iter()
    assert next(steps) == states.RUNNING
    engine.suspend()
    assert list(steps) == [states.SUSPENDED]
    assert calls == []
    engine.run()  # the next run is not suspended by it
    assert _executed(calls) == ["a", "b"] and engine.storage.get_flow_state() == states.SUCCESS


# -- run_iter -------------------------------------------------------------------------------------


def test_run_iter_yields_running_first_and_the_final_state_last(step, calls):
    engine = load(LinearFlow("f").add(step("a"), step("b")))
    steps = engine.run_iter()
    assert next(steps) == states.RUNNING
    assert calls == []  # nothing ran before the caller stepped on
    assert next(steps) == states.SUCCESS
    assert _executed(calls) == ["a", "b"]
    with pytest.raises(StopIteration):
        next(steps)


def test_run_iter_yields_reverted_then_raises_the_failure(step):
    engine = load(LinearFlow("f").add(step("a", fail=True)))
    seen = []
    with pytest.raises(RuntimeError, match="a failed"):
        for state in engine.run_iter():
            seen.append(state)
    assert seen == [states.RUNNING, states.REVERTED]


def test_run_iter_of_a_suspended_flow_ends_with_suspended(step, calls):
    suspender = _CallsEngine("suspender", lambda engine: engine.suspend(), calls)
    engine = _load_with(suspender, LinearFlow("f").add(suspender, step("b")))
    assert list(engine.run_iter()) == [states.RUNNING, states.SUSPENDED]


@pytest.mark.parametrize("stop_at", ["WAITING", "ANALYZING"])
@pytest.mark.parametrize("options", [{"engine": "serial"}, {"engine": "parallel", "executor": "thread"}])
def test_suspend_at_a_step_of_run_iter_starts_no_further_atom(step, calls, stop_at, options):
    engine = load(LinearFlow("f").add(step("a"), step("b")), **options)
    seen = []
    for state in engine.run_iter(steps=True):
        seen.append(state)
        if state == stop_at:
            engine.suspend()
        if state == "WAITING":
            engine.wait_step()
    assert seen[-1] == states.SUSPENDED
    assert _executed(calls) == ["a"]
    engine.run()
    assert _executed(calls) == ["a", "b"]


def test_an_exception_thrown_into_run_iter_ends_the_flow_in_failure(step, calls):
    engine = load(LinearFlow("f").add(step("a"), step("b"), step("c")))
    run = engine.run_iter(steps=True)
    scheduled = 0
    with pytest.raises(OSError, match="cut off"):
        for state in run:
            scheduled += state == "SCHEDULING"
            if scheduled == 2:
                run.throw(OSError("cut off"))
    assert engine.storage.get_flow_state() == states.FAILURE
    engine.run()  # what had finished is kept
    assert _executed(calls) == ["a", "b", "c"]
    assert engine.storage.get_flow_state() == states.SUCCESS


def test_an_exception_thrown_into_run_iter_mid_revert_leaves_the_revert_to_resume(step, calls):
    engine = load(LinearFlow("f").add(step("a"), step("b", fail=True)))
    run = engine.run_iter(steps=True)
    scheduled = 0
    with pytest.raises(OSError, match="cut off"):
        for state in run:
            scheduled += state == "SCHEDULING"
            if scheduled == 3:  # the round reverting b
                run.throw(OSError("cut off"))
    assert engine.storage.get_flow_state() == states.RUNNING
    with pytest.raises(RuntimeError, match="b failed"):
        engine.run()
    assert _executed(calls) == ["a", "b"]
    assert engine.storage.get_flow_state() == states.REVERTED


def test_running_a_reverted_flow_again_reports_its_atoms_then_it_pending_before_running(step):
    from greenflow.notifier import ANY

    engine = load(LinearFlow("f").add(step("a", fail=True)))
    with pytest.raises(RuntimeError):
        engine.run()
    heard: list[str] = []
    engine.notifier.register(ANY, lambda state, details: heard.append(f"f {state}"))
    engine.atom_notifier.register(ANY, lambda state, details: heard.append(f"a {state}"))
    with pytest.raises(RuntimeError):
        engine.run()
    assert heard[:4] == ["a PENDING", "f PENDING", "f RUNNING", "a RUNNING"]


# -- engine states ------------------------------------------------------------------------------


def test_run_from_inside_a_running_task_raises_engine_state_error(step, calls):
    rerun = _CallsEngine("rerun", lambda engine: engine.run(), calls)
    engine = _load_with(rerun, LinearFlow("busy").add(rerun))
    with pytest.raises(EngineStateError, match="'busy'") as info:
        engine.run()
    assert "already running" in str(info.value)
    assert engine.storage.get_flow_state() == states.REVERTED


def test_reset_while_running_raises_engine_state_error(calls):
    resetter = _CallsEngine("resetter", lambda engine: engine.reset(), calls)
    engine = _load_with(resetter, LinearFlow("busy").add(resetter))
    with pytest.raises(EngineStateError, match=r"cannot reset .*'busy'"):
        engine.run()


def test_reset_then_run_runs_every_atom_again(step, calls):
    engine = load(LinearFlow("f").add(step("a"), step("b")))
    engine.run()
    engine.reset()
    assert engine.storage.get_flow_state() == states.PENDING
    assert _states(engine, "ab") == dict.fromkeys("ab", states.PENDING)
    engine.run()
    assert _executed(calls) == ["a", "b", "a", "b"]
    assert engine.storage.get_flow_state() == states.SUCCESS


def test_reset_clears_retry_history(step):
    engine = load(LinearFlow("f", retry=Times(2)).add(step("a", fail=1)))
    engine.run()
    assert len(engine.storage.get_retry_history("f_retry")) == 2
    engine.reset()
    assert len(engine.storage.get_retry_history("f_retry")) == 0


def test_running_a_finished_engine_again_runs_nothing(step, calls, listen):
    engine = load(LinearFlow("f").add(step("a"), step("b")))
    engine.run()
    events = listen(engine)
    engine.run()
    assert _executed(calls) == ["a", "b"]
    assert engine.storage.get_flow_state() == states.SUCCESS
    assert events.flow == [states.RUNNING, states.SUCCESS]
    assert events.atoms == []


def test_running_a_reverted_engine_again_runs_the_flow_from_the_start(step, calls):
    engine = load(LinearFlow("f").add(step("a"), step("b", fail=1)))
    with pytest.raises(RuntimeError):
        engine.run()
    engine.run()
    assert _executed(calls) == ["a", "b", "a", "b"]
    assert engine.storage.get_flow_state() == states.SUCCESS


# -- options ------------------------------------------------------------------------------------


def test_misspelt_option_raises_and_suggests_the_right_name(step):
    with pytest.raises(InvalidOptionError, match=r"'defer_revert'.*did you mean 'defer_reverts'"):
        load(LinearFlow("f").add(step("a")), defer_revert=True)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"defer_reverts": "yes"}, "'defer_reverts' must be True or False, got 'yes'"),
        ({"never_resolve": 1}, "'never_resolve' must be True or False"),
        ({"max_workers": 0}, "'max_workers' must be an integer >= 1, got 0"),
        ({"max_workers": True}, "'max_workers' must be an integer"),
        ({"hub": 3}, "'hub' must be a hub name or a hub, got 3"),
        ({"engine": "warp"}, "unknown engine 'warp'"),
        ({"engine": "default"}, "unknown engine 'default'; choose one of 'parallel', 'serial'"),
        ({"engine": "worker-based"}, "engine='parallel', executor=greenflow.workers.WorkerExecutor(...)"),
        ({"engine_conf": {"engine": "serial"}}, "engine_conf is TaskFlow's legacy form"),
        (
            {"engine": "parallel", "executor": "greenthreads"},
            "engine option 'executor': unknown executor 'greenthreads'; valid names: greenthread, "
            "offload, process, synchronous, thread",
        ),
        ({"engine": "parallel", "executor": 42}, "executor must be an executor object"),
        ({"engine": "parallel", "executor": "threaded"}, "unknown executor 'threaded'"),
        ({"store": ["x"]}, "store must be a dict"),
    ],
)
def test_bad_option_values_raise_invalid_option_error(step, options, message):
    with pytest.raises(InvalidOptionError, match=re.escape(message)):
        load(LinearFlow("f").add(step("a")), **options)


def test_load_refuses_something_that_is_not_a_flow(step):
    with pytest.raises(InvalidOptionError, match="needs a flow"):
        load(step("a"))


# -- validation -----------------------------------------------------------------------------------


def test_validate_names_the_flow_atom_and_missing_symbol(step):
    engine = load(LinearFlow("create").add(step("boot_vm", requires="image_id")))
    with pytest.raises(MissingDependencyError) as info:
        engine.validate()
    message = str(info.value)
    assert "'create'" in message
    assert "'boot_vm'" in message
    assert "'image_id'" in message
    assert "nothing provides or injects" in message
    assert info.value.flow == "create"
    assert info.value.atom == "boot_vm"
    assert info.value.missing == frozenset({"image_id"})


def test_each_run_checks_the_injected_values_again(step, calls):
    from greenflow.persistence import MemoryBackend

    flow = LinearFlow("create").add(step("boot_vm", requires="image_id"))
    engine = load(flow, store={"image_id": "img"}, backend=MemoryBackend())
    engine.validate()
    engine.run()
    # The record changed since (another process, a resumed flow's storage edited): run checks again.
    engine.storage.flow_detail.meta["injected"] = {}
    engine.reset()
    with pytest.raises(MissingDependencyError, match="image_id"):
        engine.run()
    assert calls == [("execute", "boot_vm")]


def test_validate_with_several_atoms_missing_values_is_caused_by_the_first_atoms_error(step):
    boot, attach = step("boot_vm", requires=("image", "flavor")), step("attach", requires="volume")
    flow = LinearFlow("create").add(boot, attach)
    with pytest.raises(MissingDependencyError) as info:
        load(flow).validate()
    assert info.value.missing == frozenset({"image", "flavor", "volume"})
    cause = info.value.cause
    assert isinstance(cause, MissingDependencyError) and cause is info.value.__cause__
    assert cause.atom == "boot_vm" and cause.missing == frozenset({"image", "flavor"})
    assert "atom 'boot_vm' in flow 'create' requires 'flavor', 'image'" in str(cause)


def test_run_with_a_missing_requirement_raises_before_running_anything(step, calls, listen):
    engine = load(LinearFlow("create").add(step("first"), step("boot_vm", requires="image_id")))
    events = listen(engine)
    with pytest.raises(MissingDependencyError, match="image_id"):
        engine.run()
    assert calls == []
    assert events.flow == []


def test_injecting_the_missing_value_later_lets_the_flow_run(step):
    boot = step("boot_vm", requires="image_id")
    engine = load(LinearFlow("create").add(boot))
    with pytest.raises(MissingDependencyError):
        engine.validate()
    engine.storage.inject({"image_id": "img-1"})
    engine.run()
    assert boot.received == [{"image_id": "img-1"}]


def test_requirement_provided_by_an_earlier_atom_needs_no_injection(step):
    engine = load(LinearFlow("f").add(step("a", provides="image_id"), step("b", requires="image_id")))
    engine.validate()
    engine.run()
    assert engine.storage.get_flow_state() == states.SUCCESS


def test_unordered_sibling_does_not_satisfy_a_requirement(step):
    engine = load(UnorderedFlow("u").add(step("a", provides="x"), step("b", requires="x")))
    with pytest.raises(MissingDependencyError, match=r"'b'.*'x'"):
        engine.validate()


# -- factories ----------------------------------------------------------------------------------

_FACTORY_CALLS: list[tuple[str, str]] = []


def make_deploy_flow(name: str, count: int = 2) -> LinearFlow:
    """A module-level flow factory (importable by name, as load_from_factory requires)."""
    flow = LinearFlow(name)
    for i in range(count):
        flow.add(
            FunctorTask(
                lambda i=i: _FACTORY_CALLS.append(("execute", f"t{i}")) or i, name=f"t{i}", provides=f"r{i}"
            )
        )
    return flow


class _SuspendOnce(Task):
    suspended = False

    def execute(self, engine_ref):  # type: ignore[override]
        _FACTORY_CALLS.append(("execute", self.name))
        if not _SuspendOnce.suspended:
            _SuspendOnce.suspended = True
            engine_ref[0].suspend()


def make_suspending_flow() -> LinearFlow:
    """A module-level factory whose middle task suspends the first engine that runs it."""
    return LinearFlow("resumable").add(
        FunctorTask(lambda: _FACTORY_CALLS.append(("execute", "first")), name="first"),
        _SuspendOnce("middle"),
        FunctorTask(lambda: _FACTORY_CALLS.append(("execute", "last")), name="last"),
    )


@pytest.fixture(autouse=True)
def _clear_factory_calls():
    _FACTORY_CALLS.clear()
    _SuspendOnce.suspended = False


def test_load_from_factory_records_the_factory_and_its_arguments():
    engine = load_from_factory(make_deploy_flow, factory_args=["deploy"], factory_kwargs={"count": 3})
    meta = engine.storage.flow_detail.meta["factory"]
    assert meta["name"].endswith("make_deploy_flow")
    assert meta["args"] == ["deploy"]
    assert meta["kwargs"] == {"count": 3}
    engine.run()
    assert engine.storage.fetch_all() == {"r0": 0, "r1": 1, "r2": 2}


def test_flow_from_detail_rebuilds_an_equivalent_flow():
    engine = load_from_factory(make_deploy_flow, factory_args=["deploy"], factory_kwargs={"count": 3})
    rebuilt = flow_from_detail(engine.storage.flow_detail)
    assert isinstance(rebuilt, LinearFlow)
    assert rebuilt.name == "deploy"
    assert [atom.name for atom in rebuilt.iter_atoms()] == ["t0", "t1", "t2"]


def test_load_from_detail_resumes_a_suspended_flow_without_rerunning_finished_atoms():
    holder: list[Any] = []
    first = load_from_factory(make_suspending_flow, store={"engine_ref": holder}, inject_transient=True)
    holder.append(first)
    first.run()
    assert first.storage.get_flow_state() == states.SUSPENDED
    second = load_from_detail(first.storage.flow_detail, store={"engine_ref": holder})
    second.run()
    assert _FACTORY_CALLS == [("execute", "first"), ("execute", "middle"), ("execute", "last")]
    assert second.storage.get_flow_state() == states.SUCCESS


def test_load_from_factory_refuses_a_factory_that_cannot_be_imported_by_name():
    with pytest.raises(InvalidOptionError, match="module-level function"):
        load_from_factory(lambda: LinearFlow("f"))


def test_load_from_factory_refuses_a_factory_its_name_no_longer_finds_before_calling_it():
    calls = []

    def shadowed():
        calls.append(1)
        return LinearFlow("f")

    shadowed.__qualname__ = "test_load_from_factory_refuses_a_factory_that_cannot_be_imported_by_name"
    with pytest.raises(InvalidOptionError, match="is not reimportable by name"):
        load_from_factory(shadowed)
    assert calls == []


def test_flow_from_detail_without_a_recorded_factory_raises_not_found(step):
    engine = load(LinearFlow("plain").add(step("a")))
    with pytest.raises(NotFoundError, match=r"'plain'.*records no flow factory"):
        flow_from_detail(engine.storage.flow_detail)


def test_flow_from_detail_with_a_factory_that_no_longer_exists_raises_not_found():
    engine = load_from_factory(make_deploy_flow, factory_args=["deploy"])
    engine.storage.flow_detail.meta["factory"]["name"] = "no_such_module_here.make_flow"
    with pytest.raises(NotFoundError, match=r"cannot import flow factory 'no_such_module_here\.make_flow'"):
        flow_from_detail(engine.storage.flow_detail, factory_prefixes=["no_such_module_here"])


def test_an_atom_the_executor_refuses_fails_the_flow_instead_of_leaving_it_running():
    from greenflow.executors import ExecutorShutdownError, ThreadExecutor

    class One(Task):
        def execute(self):
            return 1

    executor = ThreadExecutor(max_workers=2)
    executor.shutdown()
    engine = load(LinearFlow("refused").add(One("a"), One("b")), engine="parallel", executor=executor)
    with pytest.raises(ExecutorShutdownError):
        engine.run()
    assert engine.storage.get_flow_state() == "FAILURE"
    assert engine.storage.get_atom_state("b") == "PENDING"


# -- factories named by stored records (security) -----------------------------------------------


def test_load_from_detail_refuses_a_factory_the_record_names_unless_allowed(monkeypatch):
    import greenflow.engines._helpers as helpers
    from greenflow.engines import allow_factories, load_from_detail
    from greenflow.persistence import FlowDetail

    detail = FlowDetail("evil")
    detail.meta["factory"] = {"name": "os.system", "args": ["echo owned"], "kwargs": {}}
    with pytest.raises(InvalidOptionError) as info:
        load_from_detail(detail)
    assert "'os.system'" in str(info.value) and "not allowed" in str(info.value)

    detail.meta["factory"] = {"name": "greenflow.patterns.LinearFlow", "args": ["rebuilt"], "kwargs": {}}
    with pytest.raises(InvalidOptionError):
        load_from_detail(detail)
    assert load_from_detail(detail, factory_prefixes=["greenflow.patterns"]).storage.flow_name == "evil"
    monkeypatch.setenv("GREENFLOW_FACTORY_PREFIXES", "x.y, greenflow.patterns")
    load_from_detail(detail)
    monkeypatch.delenv("GREENFLOW_FACTORY_PREFIXES")
    monkeypatch.setattr(helpers, "_allowed_prefixes", set())
    allow_factories("greenflow")
    load_from_detail(detail)
    monkeypatch.setattr(helpers, "_allowed_prefixes", {"greenflow.pattern"})  # not a dotted boundary
    with pytest.raises(InvalidOptionError):
        load_from_detail(detail)


def test_a_misspelt_hub_name_is_refused_at_load():
    with pytest.raises(InvalidOptionError, match=r"'geventt' is not a hub"):
        load(LinearFlow("f"), hub="geventt")


def test_two_engines_on_one_flow_detail_with_no_backend_do_not_both_run_it():
    import threading

    started, release = threading.Event(), threading.Event()

    class Gate(Task):
        def execute(self) -> None:
            started.set()
            release.wait(10)

    first = load(LinearFlow("gated").add(Gate("gate")))
    second = load(LinearFlow("gated").add(Gate("gate")), flow_detail=first.storage.flow_detail)
    errors: list[BaseException] = []
    thread = threading.Thread(target=lambda: first.run())
    thread.start()
    try:
        assert started.wait(10)
        with pytest.raises(EngineStateError, match="another engine of this process"):
            second.run()
    finally:
        release.set()
        thread.join(10)
    assert errors == [] and first.storage.get_flow_state() == states.SUCCESS
    second.run()  # free again once the first has ended
