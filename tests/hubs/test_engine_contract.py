"""The behaviour every engine configuration promises, run once per hub (see tests/hubs/run.py).

One body per behaviour, parametrised (``engine_options``) over the ways an
engine can run its atoms on this process's hub: inline, on the hub's shared
executor, on an executor it creates, on an executor it is given. The tasks of
tests marked ``picklable`` are module-level classes that record nothing
themselves (the engine's notifications carry the order), so those tests also
run on a process executor under the threading hub.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

import greenflow.hubs
from greenflow import AlwaysRevertAll, GraphFlow, LinearFlow, Task, Times, UnorderedFlow, load, states
from greenflow.atoms import EVENT_UPDATE_PROGRESS
from greenflow.exceptions import EngineStateError, WrappedFailure
from greenflow.executors import GreenExecutor, make_executor, shared_executor
from greenflow.hubs import Hub
from greenflow.notifier import ANY

# -- engine configurations ----------------------------------------------------------------------


@dataclass(frozen=True)
class Config:
    """One way of running an engine: ``load()`` keyword arguments and what they imply."""

    id: str
    options: dict[str, Any] = field(default_factory=dict)
    #: Independent atoms may run at the same time.
    overlaps: bool = False
    #: Atoms run in another process: only picklable tasks, no shared memory with the test.
    in_processes: bool = False


def configurations(hub: Hub) -> list[Config]:
    """The engine configurations valid on ``hub``."""
    serial = Config("serial-inline")
    shared = Config("parallel-shared", {"engine": "parallel"}, overlaps=True)
    threads = Config(
        "parallel-thread-4", {"engine": "parallel", "executor": "thread", "max_workers": 4}, overlaps=True
    )
    if hub.is_green:
        return [
            serial,
            shared,
            Config(
                "parallel-greenthread-3",
                {"engine": "parallel", "executor": "greenthread", "max_workers": 3},
                overlaps=True,
            ),
            threads,
            Config("serial-greenthread", {"engine": "serial", "executor": "greenthread"}),
        ]
    return [
        serial,
        shared,
        threads,
        Config("parallel-synchronous", {"engine": "parallel", "executor": "synchronous"}),
        Config("serial-thread", {"engine": "serial", "executor": "thread"}),
        Config(
            "parallel-process-2",
            {"engine": "parallel", "executor": "process", "max_workers": 2},
            overlaps=True,
            in_processes=True,
        ),
    ]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    hub = greenflow.hubs.get_hub()
    if "engine_options" in metafunc.fixturenames:
        picklable = metafunc.definition.get_closest_marker("picklable") is not None
        chosen = [c for c in configurations(hub) if picklable or not c.in_processes]
        metafunc.parametrize("engine_options", chosen, ids=[c.id for c in chosen], indirect=True)
    if "parallel_options" in metafunc.fixturenames:
        chosen = [c for c in configurations(hub) if c.overlaps and not c.in_processes]
        metafunc.parametrize("parallel_options", chosen, ids=[c.id for c in chosen], indirect=True)
    if "bounded_executor" in metafunc.fixturenames:
        kinds = ["thread", "greenthread"] if hub.is_green else ["thread"]
        metafunc.parametrize("bounded_executor", kinds)


@pytest.fixture
def engine_options(request: pytest.FixtureRequest) -> dict[str, Any]:
    """``load()`` keyword arguments of one engine configuration valid on this hub."""
    return dict(request.param.options)


@pytest.fixture
def parallel_options(request: pytest.FixtureRequest) -> dict[str, Any]:
    """``load()`` keyword arguments of a configuration whose atoms overlap, in this process."""
    return dict(request.param.options)


# -- picklable tasks (module level, recording nothing) --------------------------------------------


class Const(Task):
    """Returns ``value``."""

    def __init__(self, name: str, value: Any, **options: Any) -> None:
        super().__init__(name, **options)
        self.value = value

    def execute(self) -> Any:  # type: ignore[override]
        return self.value


class Add(Task):
    """Returns ``left + right``."""

    def execute(self, left: Any, right: Any) -> Any:  # type: ignore[override]
        return left + right


class Fail(Task):
    """Raises ``RuntimeError('<name> failed')``."""

    def execute(self) -> Any:  # type: ignore[override]
        raise RuntimeError(f"{self.name} failed")


class FailUntilAttempt(Task):
    """Fails while the retry's ``attempt`` is below ``succeed_on``, then returns the attempt."""

    def __init__(self, name: str, succeed_on: int, **options: Any) -> None:
        super().__init__(name, **options)
        self.succeed_on = succeed_on

    def execute(self, attempt: int) -> int:  # type: ignore[override]
        if attempt < self.succeed_on:
            raise RuntimeError(f"{self.name} failed on attempt {attempt}")
        return attempt


class Progressing(Task):
    """Reports progress half-way, then returns its name."""

    def execute(self) -> str:  # type: ignore[override]
        self.update_progress(0.5)
        return self.name


# -- tasks that share state with the test (same process only) -------------------------------------


class Overlap:
    """Counts the calls inside it at once, under a lock from the hub; keeps the peak."""

    def __init__(self, hub: Hub) -> None:
        self._lock = hub.Lock()
        self.running = 0
        self.peak = 0

    def __enter__(self) -> None:
        with self._lock:
            self.running += 1
            self.peak = max(self.peak, self.running)

    def __exit__(self, *exc_info: object) -> None:
        with self._lock:
            self.running -= 1


class Sleeper(Task):
    """Records ``start``, sleeps through ``time.sleep`` (patched on a green hub), records ``end``.

    With ``fail`` it raises after sleeping; with ``then`` it calls ``then(self)``
    after sleeping (to suspend its engine, say). Reverts are recorded too.
    """

    def __init__(
        self,
        name: str,
        calls: list[tuple[str, str]],
        seconds: float = 0.0,
        *,
        overlap: Overlap | None = None,
        fail: bool = False,
        then: Callable[[Sleeper], None] | None = None,
        **options: Any,
    ) -> None:
        super().__init__(name, **options)
        self.calls = calls
        self.seconds = seconds
        self.overlap = overlap
        self.fail = fail
        self.then = then
        self.engine: Any = None

    def execute(self) -> str:  # type: ignore[override]
        self.calls.append(("start", self.name))
        if self.overlap is not None:
            with self.overlap:
                time.sleep(self.seconds)
        else:
            time.sleep(self.seconds)
        if self.then is not None:
            self.then(self)
        self.calls.append(("end", self.name))
        if self.fail:
            raise RuntimeError(f"{self.name} failed")
        return self.name

    def revert(self, **kwargs: Any) -> None:  # type: ignore[override]
        self.calls.append(("revert", self.name))


def suspend_engine(task: Sleeper) -> None:
    task.engine.suspend()


def names(calls: list[tuple[str, str]], kind: str) -> list[str]:
    return [name for k, name in calls if k == kind]


# -- a capturing listener -----------------------------------------------------------------------


class Events:
    """Every notification of one engine, in order: flow states, and ``(atom, event)`` pairs."""

    def __init__(self, engine: Any) -> None:
        self.flow: list[str] = []
        self.atoms: list[tuple[str, str]] = []
        self.progress: list[tuple[str, float]] = []
        engine.notifier.register(ANY, self._on_flow)
        engine.atom_notifier.register(ANY, self._on_atom)

    def _on_flow(self, event: str, details: dict[str, Any]) -> None:
        self.flow.append(event)

    def _on_atom(self, event: str, details: dict[str, Any]) -> None:
        name = details.get("task_name") or details.get("retry_name")
        self.atoms.append((name, event))
        if event == EVENT_UPDATE_PROGRESS:
            self.progress.append((name, details["progress"]))

    def of(self, name: str) -> list[str]:
        """The events of atom ``name``."""
        return [event for atom, event in self.atoms if atom == name]

    def atoms_with(self, event: str) -> list[str]:
        """The atoms that sent ``event``, in the order they sent it."""
        return [atom for atom, e in self.atoms if e == event]


def atom_states(engine: Any, atom_names: Any) -> dict[str, str]:
    return {name: engine.storage.get_atom_state(name) for name in atom_names}


# -- running forward ----------------------------------------------------------------------------


@pytest.mark.picklable
def test_linear_flow_passes_each_result_to_the_next_atom(engine_options):
    flow = LinearFlow("lin").add(
        Const("one", 1, provides="x"),
        Add("add_ten", rebind={"left": "x", "right": "ten"}, provides="y"),
        Add("double", rebind={"left": "y", "right": "y"}, provides="z"),
    )
    engine = load(flow, store={"ten": 10}, **engine_options)
    events = Events(engine)
    engine.run()
    assert engine.storage.fetch("z") == 22
    assert events.atoms_with(states.RUNNING) == ["one", "add_ten", "double"]
    assert engine.storage.get_flow_state() == states.SUCCESS


@pytest.mark.picklable
def test_unordered_flow_runs_every_atom(engine_options):
    flow = UnorderedFlow("un").add(*(Const(f"t{n}", n, provides=f"r{n}") for n in range(5)))
    engine = load(flow, **engine_options)
    engine.run()
    assert engine.storage.fetch_all() == {f"r{n}": n for n in range(5)}
    assert set(atom_states(engine, [f"t{n}" for n in range(5)]).values()) == {states.SUCCESS}


@pytest.mark.picklable
def test_graph_flow_runs_atoms_in_data_order(engine_options):
    # Added consumer first: the order comes from the data, not from add().
    flow = GraphFlow("g").add(
        Add("total", rebind={"left": "a_plus_b", "right": "c"}, provides="total"),
        Add("a_plus_b", rebind={"left": "a", "right": "b"}, provides="a_plus_b"),
        Const("a", 1, provides="a"),
        Const("b", 2, provides="b"),
        Const("c", 4, provides="c"),
    )
    engine = load(flow, **engine_options)
    events = Events(engine)
    engine.run()
    assert engine.storage.fetch("total") == 7
    finished = events.atoms_with(states.SUCCESS)
    assert finished.index("a_plus_b") > max(finished.index("a"), finished.index("b"))
    assert finished[-1] == "total"


@pytest.mark.picklable
def test_graph_decider_saying_no_ignores_its_target_and_what_follows(engine_options):
    source, target, after = Const("source", 10), Const("target", 1), Const("after", 2)
    graph = GraphFlow("g").add(source, target, after)
    graph.link(source, target, decider=lambda history: history["source"] > 100)
    graph.link(target, after)
    engine = load(LinearFlow("outer").add(graph, Const("last", 3)), **engine_options)
    events = Events(engine)
    engine.run()
    assert atom_states(engine, ["source", "target", "after", "last"]) == {
        "source": states.SUCCESS,
        "target": states.IGNORE,
        "after": states.IGNORE,
        "last": states.IGNORE,
    }
    assert events.atoms_with(states.RUNNING) == ["source"]
    assert engine.storage.get_flow_state() == states.SUCCESS


# -- failure and revert ---------------------------------------------------------------------------


@pytest.mark.picklable
def test_failure_reverts_in_reverse_dependency_order_and_reraises(engine_options):
    flow = LinearFlow("f").add(
        Const("a", 1),
        UnorderedFlow("middle").add(Const("b", 2), Const("c", 3)),
        Fail("d"),
        Const("e", 5),
    )
    engine = load(flow, **engine_options)
    events = Events(engine)
    with pytest.raises(RuntimeError, match=r"^d failed$"):
        engine.run()
    reverted = events.atoms_with(states.REVERTED)
    assert reverted[0] == "d"
    assert sorted(reverted[1:3]) == ["b", "c"]
    assert reverted[3:] == ["a"]
    assert atom_states(engine, "abcde") == {
        "a": states.REVERTED,
        "b": states.REVERTED,
        "c": states.REVERTED,
        "d": states.REVERTED,
        "e": states.PENDING,
    }
    assert events.of("e") == []
    assert engine.storage.get_flow_state() == states.REVERTED


@pytest.mark.picklable
def test_two_failures_in_an_unordered_flow_raise_a_wrapped_failure(engine_options):
    # Both atoms are started together (even a serial engine starts every ready
    # atom before it hears of a failure), so both failures are raised.
    engine = load(UnorderedFlow("un").add(Fail("f1"), Fail("f2")), **engine_options)
    with pytest.raises(WrappedFailure) as info:
        engine.run()
    assert sorted(f.exception_str for f in info.value) == ["f1 failed", "f2 failed"]
    assert atom_states(engine, ["f1", "f2"]) == {"f1": states.REVERTED, "f2": states.REVERTED}
    assert engine.storage.get_flow_state() == states.REVERTED


@pytest.mark.picklable
def test_times_retry_succeeds_on_the_third_attempt(engine_options):
    flow = LinearFlow("f", retry=Times(5, name="r", provides="attempt")).add(
        Const("first", "ok"), FailUntilAttempt("flaky", 3, provides="result")
    )
    engine = load(flow, **engine_options)
    events = Events(engine)
    engine.run()
    assert engine.storage.fetch("result") == 3
    assert list(engine.storage.get_retry_history("r").provided_iter()) == [1, 2, 3]
    assert events.of("flaky").count(states.FAILURE) == 2
    assert events.of("flaky")[-1] == states.SUCCESS
    assert events.of("first").count(states.RUNNING) == 3
    assert engine.storage.get_flow_state() == states.SUCCESS


@pytest.mark.picklable
def test_revert_all_reverts_everything_even_inside_an_outer_retry(engine_options):
    inner = LinearFlow("inner", retry=AlwaysRevertAll(name="r")).add(Const("a", 1), Fail("b"))
    flow = LinearFlow("outer", retry=Times(3, name="outer_r")).add(
        Const("before", 0), inner, Const("after", 2)
    )
    engine = load(flow, **engine_options)
    events = Events(engine)
    with pytest.raises(RuntimeError, match=r"^b failed$"):
        engine.run()
    tasks = {"before", "a", "b", "after"}
    assert [n for n in events.atoms_with(states.RUNNING) if n in tasks] == ["before", "a", "b"]
    assert [n for n in events.atoms_with(states.REVERTED) if n in tasks] == ["b", "a", "before"]
    assert atom_states(engine, ["outer_r", "before", "r", "a", "b", "after"]) == {
        "outer_r": states.REVERTED,
        "before": states.REVERTED,
        "r": states.REVERTED,
        "a": states.REVERTED,
        "b": states.REVERTED,
        "after": states.PENDING,
    }


# -- notifications and storage --------------------------------------------------------------------


@pytest.mark.picklable
def test_notifications_report_the_flow_and_every_atom(engine_options):
    flow = LinearFlow("f").add(Const("a", 1), UnorderedFlow("u").add(Const("b", 2), Const("c", 3)))
    engine = load(flow, **engine_options)
    events = Events(engine)
    engine.run()
    assert events.flow == [states.RUNNING, states.SUCCESS]
    for name in "abc":
        assert events.of(name) == [states.RUNNING, states.SUCCESS]


@pytest.mark.picklable
def test_progress_is_reported_on_the_atom_notifier(engine_options):
    engine = load(UnorderedFlow("u").add(Progressing("p1"), Progressing("p2")), **engine_options)
    events = Events(engine)
    engine.run()
    assert sorted(events.progress) == [("p1", 0.5), ("p2", 0.5)]
    for name in ("p1", "p2"):
        assert events.of(name) == [states.RUNNING, EVENT_UPDATE_PROGRESS, states.SUCCESS]


@pytest.mark.picklable
def test_storage_fetches_results_and_injected_values(engine_options):
    flow = LinearFlow("f").add(
        Const("pair", ("left", "right"), provides=("first", "second")),
        Add("joined", rebind={"left": "first", "right": "suffix"}, provides="joined"),
    )
    engine = load(flow, store={"suffix": "!"}, **engine_options)
    engine.run()
    assert engine.storage.fetch("second") == "right"
    assert engine.storage.fetch("joined") == "left!"
    assert engine.storage.fetch_all() == {
        "first": "left",
        "second": "right",
        "joined": "left!",
        "suffix": "!",
    }


# -- control: suspend, run_iter, one run at a time ------------------------------------------------


def test_suspend_from_a_task_then_resume_without_running_finished_atoms(engine_options):
    calls: list[tuple[str, str]] = []
    suspender = Sleeper("suspender", calls, then=suspend_engine)
    flow = LinearFlow("f").add(Sleeper("a", calls), suspender, Sleeper("b", calls), Sleeper("c", calls))
    engine = load(flow, **engine_options)
    suspender.engine = engine
    engine.run()
    assert engine.storage.get_flow_state() == states.SUSPENDED
    assert atom_states(engine, ["a", "suspender", "b", "c"]) == {
        "a": states.SUCCESS,
        "suspender": states.SUCCESS,
        "b": states.PENDING,
        "c": states.PENDING,
    }
    suspender.then = None
    engine.run()
    assert engine.storage.get_flow_state() == states.SUCCESS
    assert names(calls, "start") == ["a", "suspender", "b", "c"]


@pytest.mark.picklable
def test_run_iter_yields_running_first_and_the_final_state_last(hub, engine_options):
    engine = load(UnorderedFlow("u").add(Const("a", 1), Const("b", 2)), **engine_options)
    seen = []
    for state in engine.run_iter():
        seen.append(state)
        if state == "WAITING":
            hub.sleep(0.001)  # the caller's turn to wait: atoms run elsewhere
    assert seen[0] == states.RUNNING
    assert seen[-1] == states.SUCCESS
    assert set(seen[1:-1]) <= {"WAITING"}
    assert engine.storage.fetch_all() == {}
    assert atom_states(engine, "ab") == {"a": states.SUCCESS, "b": states.SUCCESS}


def test_running_an_engine_while_it_runs_raises_engine_state_error(hub, engine_options):
    started, release = hub.Event(), hub.Event()
    calls: list[tuple[str, str]] = []
    engine = load(
        LinearFlow("busy").add(
            Sleeper("blocker", calls, then=lambda task: (started.set(), release.wait(10)))
        ),
        **engine_options,
    )
    runner = hub.spawn(engine.run)
    try:
        assert started.wait(10)
        with pytest.raises(EngineStateError, match="'busy' is already running"):
            engine.run()
        steps = engine.run_iter()
        with pytest.raises(EngineStateError):
            next(steps)
    finally:
        release.set()
        runner.join(10)
    assert engine.storage.get_flow_state() == states.SUCCESS
    assert names(calls, "start") == ["blocker"]


# -- parallel engines -----------------------------------------------------------------------------


def test_unordered_atoms_overlap_and_linear_atoms_never_do(hub, parallel_options):
    calls: list[tuple[str, str]] = []
    together, in_line = Overlap(hub), Overlap(hub)
    flow = LinearFlow("f").add(
        UnorderedFlow("u").add(*(Sleeper(f"u{n}", calls, 0.05, overlap=together) for n in range(3))),
        LinearFlow("l").add(*(Sleeper(f"l{n}", calls, 0.01, overlap=in_line) for n in range(3))),
    )
    load(flow, **parallel_options).run()
    assert together.peak >= 2
    assert in_line.peak == 1
    assert names(calls, "start")[3:] == ["l0", "l1", "l2"]


def test_max_workers_bounds_the_atoms_running_at_once(hub, bounded_executor):
    calls: list[tuple[str, str]] = []
    overlap = Overlap(hub)
    flow = UnorderedFlow("u").add(*(Sleeper(f"t{n}", calls, 0.02, overlap=overlap) for n in range(6)))
    engine = load(flow, engine="parallel", executor=bounded_executor, max_workers=2)
    engine.run()
    assert overlap.peak == 2
    assert sorted(names(calls, "end")) == [f"t{n}" for n in range(6)]


class PoolWatcher(Task):
    """Records how many green threads the hub's shared pool runs while this atom runs."""

    def __init__(self, name: str, seen: list[int], pool: Any) -> None:
        super().__init__(name)
        self.seen = seen
        self.pool = pool

    def execute(self) -> None:
        time.sleep(0.02)
        self.seen.append(self.pool._workers)


def test_an_engine_asking_for_green_threads_runs_on_its_share_of_the_hubs_pool(hub, monkeypatch):
    if not hub.is_green:
        pytest.skip("green threads need a green hub")
    shared = shared_executor(hub)
    made: list[GreenExecutor] = []
    make = GreenExecutor.__init__

    def counted(self: GreenExecutor, *args: Any, **kwargs: Any) -> None:
        made.append(self)
        make(self, *args, **kwargs)

    monkeypatch.setattr(GreenExecutor, "__init__", counted)
    seen: list[int] = []
    overlap = Overlap(hub)
    flow = UnorderedFlow("u").add(
        *(PoolWatcher(f"w{n}", seen, shared) for n in range(3)),
        *(Sleeper(f"t{n}", [], 0.02, overlap=overlap) for n in range(3)),
    )
    load(flow, engine="parallel", executor="greenthread", max_workers=2).run()
    assert made == []  # no pool of its own
    assert overlap.peak <= 2
    assert len(seen) == 3 and max(seen) >= 1  # its atoms ran in the shared pool's green threads


def test_failure_lets_running_siblings_finish_then_reverts_them(parallel_options):
    calls: list[tuple[str, str]] = []
    flow = UnorderedFlow("u").add(
        Sleeper("failing", calls, 0.0, fail=True),
        LinearFlow("chain").add(Sleeper("slow", calls, 0.15), Sleeper("after_slow", calls)),
        Sleeper("slower", calls, 0.2),
    )
    engine = load(flow, **parallel_options)
    with pytest.raises(RuntimeError, match=r"^failing failed$"):
        engine.run()
    # Nothing started after the failure: the atom that 'slow' made ready never ran.
    assert sorted(names(calls, "start")) == ["failing", "slow", "slower"]
    assert sorted(names(calls, "end")) == ["failing", "slow", "slower"]
    first_revert = calls.index(next(c for c in calls if c[0] == "revert"))
    assert {c[0] for c in calls[first_revert:]} == {"revert"}
    assert sorted(names(calls, "revert")) == ["failing", "slow", "slower"]
    assert atom_states(engine, ["failing", "slow", "after_slow", "slower"]) == {
        "failing": states.REVERTED,
        "slow": states.REVERTED,
        "after_slow": states.PENDING,
        "slower": states.REVERTED,
    }


def test_suspend_while_atoms_run_lets_them_finish_then_resume_completes(parallel_options):
    calls: list[tuple[str, str]] = []
    suspender = Sleeper("suspender", calls, 0.0, then=suspend_engine)
    flow = UnorderedFlow("u").add(
        suspender,
        LinearFlow("chain").add(Sleeper("slow", calls, 0.15), Sleeper("after_slow", calls)),
        Sleeper("slower", calls, 0.2),
    )
    engine = load(flow, **parallel_options)
    suspender.engine = engine
    engine.run()
    assert engine.storage.get_flow_state() == states.SUSPENDED
    assert sorted(names(calls, "end")) == ["slow", "slower", "suspender"]
    assert atom_states(engine, ["suspender", "slow", "after_slow", "slower"]) == {
        "suspender": states.SUCCESS,
        "slow": states.SUCCESS,
        "after_slow": states.PENDING,
        "slower": states.SUCCESS,
    }
    suspender.then = None
    engine.run()
    assert engine.storage.get_flow_state() == states.SUCCESS
    assert sorted(names(calls, "start")) == ["after_slow", "slow", "slower", "suspender"]


def test_an_executor_passed_as_an_object_is_not_shut_down(hub):
    executor = make_executor(None, max_workers=4, hub=hub)[0]
    try:
        flow = UnorderedFlow("u").add(Const("a", 1, provides="a"), Const("b", 2, provides="b"))
        engine = load(flow, engine="parallel", executor=executor)
        engine.run()
        assert engine.storage.fetch_all() == {"a": 1, "b": 2}
        future = executor.submit(pow, 2, 5)
        done, _ = hub.wait_for_all([future], timeout=10)
        assert done == {future}
        assert future.result() == 32
    finally:
        executor.shutdown()


class _RaisesGeneratorExit(Task):
    def execute(self) -> None:
        raise GeneratorExit("from the task")


class _Fine(Task):
    def execute(self) -> int:
        return 1


@pytest.mark.parametrize("engine", ["serial", "parallel"])
@pytest.mark.timeout(30)
def test_an_atom_raising_generator_exit_fails_the_flow_like_any_exception(engine):
    flow = UnorderedFlow("f").add(_RaisesGeneratorExit("g"), _Fine("ok"))
    run = load(flow, engine=engine)
    with pytest.raises(GeneratorExit, match="from the task"):
        run.run()
    assert run.storage.get_flow_state() == "REVERTED"


class _CallerFrames(Task):
    def execute(self) -> list[str]:
        frame, names = sys._getframe(1), []
        while frame is not None:
            names.append(frame.f_code.co_name)
            frame = frame.f_back
        return names


@pytest.mark.parametrize("options", ["serial-inline", "parallel-shared", "parallel-greenthread-3"])
def test_an_atom_the_engine_runs_itself_runs_in_runs_own_frame(hub, options):
    """Alone in its flow, an atom runs in the engine's thread: from run(), not inside its steps.

    Each generator level a waiting task sits under is a C-level call whose
    stack a green thread keeps while the task waits.
    """
    config = next((c for c in configurations(hub) if c.id == options), None)
    if config is None:
        pytest.skip(f"{options} is not a configuration of the {hub.name} hub")
    if config.id != "serial-inline" and not hub.is_green:
        pytest.skip("the threading hub's shared pool runs it on a worker thread")
    engine = load(LinearFlow("f").add(_CallerFrames("t", provides="names")), **config.options)
    engine.run()
    names = engine.storage.fetch("names")
    assert "run" in names
    assert not {"_run_steps", "_run_with", "_run_inline"} & set(names), names
