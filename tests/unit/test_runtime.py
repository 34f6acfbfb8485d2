"""The sans-IO ``Runtime`` on its own: a fake recorder, a hand-driven loop, no engine, no executor.

Each test builds a runtime over a compiled flow and a ``FakeRecorder`` (it
keeps its own records and a log of every ``record_*`` call), then plays the
engine's part: it takes the actions the runtime returns, calls the atoms
itself and feeds the outcomes back. What is asserted is what the runtime
decided (which actions, in which order, with which arguments) and what it
recorded, so the recorder seam's contract is checked from the runtime's side.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Any

import pytest

from greenflow import GraphFlow, LinearFlow, Task, Times, UnorderedFlow, states
from greenflow.atoms import ActionKind
from greenflow.compiler import JOIN, RETRY, CompiledFlow, bind_flow
from greenflow.engines._runtime import Runtime
from greenflow.exceptions import NotFoundError
from greenflow.failure import Failure
from greenflow.storage import Recorder


@dataclass
class Record:
    """One atom's record in the fake recorder (the ``RecordedAtom`` a runtime starts from)."""

    name: str
    state: str = states.PENDING
    intention: str = states.EXECUTE
    results: Any = None
    failure: Failure | None = None


class FakeRecorder:
    """A ``Recorder`` that keeps plain records and logs each call as ``(method, atom name, value)``."""

    def __init__(
        self, compiled: CompiledFlow, injected: dict[str, Any] | None = None, flow_name: str = "f"
    ) -> None:
        self.flow_name = flow_name
        self.nodes = compiled.nodes
        self.records: list[Record | None] = [
            None if n.kind == JOIN else Record(n.name, results=[] if n.kind == RETRY else None)
            for n in compiled.nodes
        ]
        self.injected = dict(injected or {})
        self.log: list[tuple[str, str, Any]] = []
        self.checks_results = False
        self.defers_commits = False
        self.refused: set[Any] = set()  # results ``unstorable`` refuses
        self.departed: list[tuple[str, Failure]] = []  # what ``departed_failures`` says

    def record(self, name: str) -> Record:
        found = [r for r in self.records if r is not None and r.name == name]
        assert found, name
        return found[0]

    def _at(self, i: int, method: str, value: Any) -> Record:
        record = self.records[i]
        assert record is not None, f"{method} on a join"
        self.log.append((method, record.name, value))
        return record

    def recorded(self) -> list[Record | None]:
        return self.records

    def departed_failures(self) -> list[tuple[str, Failure]]:
        return list(self.departed)

    def record_state(self, i: int, state: str, intention: str | None = None) -> None:
        record = self._at(i, "state", state)
        record.state = state
        if intention is not None:
            record.intention = intention

    def record_reset(self, i: int, state: str) -> None:
        record = self._at(i, "reset", state)
        record.state, record.intention, record.failure = state, states.EXECUTE, None
        if self.nodes[i].kind != RETRY:
            record.results = None

    def record_intention(self, i: int, intention: str) -> None:
        self._at(i, "intention", intention).intention = intention

    def record_result(self, i: int, value: Any) -> None:
        record = self._at(i, "result", value)
        record.state = states.SUCCESS
        if self.nodes[i].kind == RETRY:
            record.results.append((value, {}))
        else:
            record.results = value

    def record_failure(self, i: int, failure: Failure) -> None:
        record = self._at(i, "failure", failure.exception_str)
        record.state, record.failure = states.FAILURE, failure

    def record_reverted(self, i: int, value: Any) -> None:
        self._at(i, "reverted", value).state = states.REVERTED

    def record_revert_failure(self, i: int, failure: Failure) -> None:
        self._at(i, "revert_failure", failure.exception_str).state = states.REVERT_FAILURE

    def record_retry_failure(self, r: int, atom_name: str, failure: Failure) -> None:
        self._at(r, "retry_failure", atom_name)

    def commit(self) -> None:
        return None

    def lookup_injected(self, symbol: str) -> tuple[bool, Any]:
        return (True, self.injected[symbol]) if symbol in self.injected else (False, None)

    def unstorable(self, i: int, value: Any) -> Failure | None:
        if value in self.refused:
            return Failure.from_exception(ValueError(f"cannot store {value!r}"))
        return None

    def of(self, name: str) -> list[tuple[str, Any]]:
        """The calls recorded for atom ``name``: ``[(method, value), ...]``."""
        return [(method, value) for method, atom, value in self.log if atom == name]


class Echo(Task):
    """Returns ``value`` (default: its name, plus what it received); raises when told to."""

    def __init__(self, name: str, value: Any = None, fails: int = 0, fail_revert: bool = False, **kw: Any):
        super().__init__(name, **kw)
        self.value = value
        self.fails = fails
        self.fail_revert = fail_revert

    def execute(self, **kwargs: Any) -> Any:
        if self.fails:
            self.fails -= 1
            raise RuntimeError(f"{self.name} failed")
        if self.value is not None:
            return self.value
        return f"{self.name}({','.join(f'{k}={v}' for k, v in sorted(kwargs.items()))})"

    def revert(self, **kwargs: Any) -> str:
        if self.fail_revert:
            raise ValueError(f"{self.name} revert failed")
        return f"undo {self.name}"


def make(flow: Any, recorder_of: Any = None, **options: Any) -> tuple[Runtime, FakeRecorder]:
    compiled, atoms = bind_flow(flow)
    recorder = recorder_of(compiled) if recorder_of is not None else FakeRecorder(compiled)
    checked: Recorder = recorder  # the fake satisfies the seam's protocol (checked by mypy)
    return Runtime(compiled, checked, None, **options, atoms=atoms), recorder


def drive(runtime: Runtime, actions: list[Any] | None = None) -> list[tuple[str, str]]:
    """Play the engine: run every action the runtime asks for, one at a time, until it finishes."""
    queue = deque(runtime.start() if actions is None else actions)
    done: list[tuple[str, str]] = []
    while queue:
        kind, i, atom, kwargs = queue.popleft()
        call = atom.execute if kind == ActionKind.EXECUTE else atom.revert
        done.append(("execute" if kind == ActionKind.EXECUTE else "revert", atom.name))
        try:
            value = call(**kwargs)
        except Exception as exc:
            failure = Failure.from_exception(exc)
            queue.extend(
                runtime.executed_failed(i, failure)
                if kind == ActionKind.EXECUTE
                else runtime.reverted_failed(i, failure)
            )
        else:
            queue.extend(
                runtime.executed_ok(i, value) if kind == ActionKind.EXECUTE else runtime.reverted_ok(i, value)
            )
    assert runtime.finished, "the runtime asked for nothing more but is not finished"
    return done


def names(actions: list[Any]) -> list[tuple[int, str]]:
    return [(kind, atom.name) for kind, _, atom, _ in actions]


# -- forward -----------------------------------------------------------------------------------


def test_linear_flow_runs_each_atom_after_the_one_before_with_its_result():
    runtime, recorder = make(LinearFlow("f").add(Echo("a", provides="x"), Echo("b", requires="x")))
    first = runtime.start()
    assert names(first) == [(ActionKind.EXECUTE, "a")]
    second = runtime.executed_ok(first[0][1], "A")
    assert names(second) == [(ActionKind.EXECUTE, "b")]
    assert second[0][3] == {"x": "A"}
    assert runtime.executed_ok(second[0][1], "B") == []
    assert runtime.finished and runtime.end_state == states.SUCCESS
    assert recorder.of("a") == [("state", states.RUNNING), ("result", "A")]
    assert recorder.of("b") == [("state", states.RUNNING), ("result", "B")]
    assert list(runtime.failures) == []


def test_unordered_flow_asks_for_every_atom_at_once():
    runtime, _ = make(UnorderedFlow("f").add(Echo("a"), Echo("b"), Echo("c")))
    assert sorted(name for _, name in names(runtime.start())) == ["a", "b", "c"]
    assert runtime.running == 3


def test_graph_successor_waits_for_every_predecessor():
    flow = GraphFlow("g").add(
        Echo("a", provides="x"), Echo("b", provides="y"), Echo("c", requires=("x", "y"))
    )
    runtime, _ = make(flow)
    a, b = sorted(runtime.start(), key=lambda action: action[2].name)
    assert runtime.executed_ok(a[1], 1) == []  # c still waits for b
    (c,) = runtime.executed_ok(b[1], 2)
    assert c[2].name == "c" and c[3] == {"x": 1, "y": 2}


@pytest.mark.parametrize("width", [255, 256, 300])
def test_successor_of_more_predecessors_than_a_byte_counts_waits_for_all(width):
    # The per-node counters are bytes while every indegree fits in one (the usual case),
    # and plain ints beyond: both count down to exactly zero.
    fan = UnorderedFlow("fan").add(*(Echo(f"t{k}", value=k, provides=f"p{k}") for k in range(width)))
    last = Echo("last", requires=[f"p{k}" for k in range(width)], value="done")
    runtime, _ = make(LinearFlow("f").add(fan, last))
    assert runtime._graph.small_counts == (width < 256)
    first = runtime.start()
    assert len(first) == width
    for action in first[:-1]:
        assert runtime.executed_ok(action[1], action[2].value) == []
    (action,) = runtime.executed_ok(first[-1][1], first[-1][2].value)
    assert action[2].name == "last" and action[3] == {f"p{k}": k for k in range(width)}


def test_injected_values_come_from_the_recorder():
    runtime, _ = make(
        LinearFlow("f").add(Echo("a", requires="image")),
        recorder_of=lambda compiled: FakeRecorder(compiled, injected={"image": "img-1"}),
    )
    (action,) = runtime.start()
    assert action[3] == {"image": "img-1"}


def test_missing_requirement_fails_the_atom_with_a_precise_error():
    runtime, recorder = make(LinearFlow("f").add(Echo("a", requires="image")))
    assert drive(runtime) == [("revert", "a")]  # never executed; reverted like any failed atom
    assert runtime.end_state == states.REVERTED
    (failure,) = runtime.failures
    assert failure.check(NotFoundError)
    assert "atom 'a' in flow 'f' requires 'image', which nothing provides or injects" in failure.exception_str
    assert recorder.record("a").state == states.REVERTED


def test_suspended_runtime_starts_nothing_new_and_ends_suspended():
    runtime, recorder = make(LinearFlow("f").add(Echo("a"), Echo("b")))
    (a,) = runtime.start()
    runtime.suspend()
    assert runtime.executed_ok(a[1], "A") == []
    assert runtime.finished and runtime.end_state == states.SUSPENDED
    assert recorder.record("b").state == states.PENDING


# -- failures and reverts ------------------------------------------------------------------------


def test_failure_reverts_what_ran_in_reverse_order_and_raises_the_failure():
    runtime, recorder = make(LinearFlow("f").add(Echo("a"), Echo("b"), Echo("c", fails=1)))
    assert drive(runtime) == [
        ("execute", "a"),
        ("execute", "b"),
        ("execute", "c"),
        ("revert", "c"),
        ("revert", "b"),
        ("revert", "a"),
    ]
    assert runtime.end_state == states.REVERTED
    assert [f.exception_str for f in runtime.failures] == ["c failed"]
    # The revert's intentions are recorded before any revert starts (a resumed run continues them).
    assert recorder.of("a") == [
        ("state", states.RUNNING),
        ("result", "a()"),
        ("intention", states.REVERT),
        ("state", states.REVERTING),
        ("reverted", "undo a"),
    ]
    assert recorder.of("c")[:2] == [("state", states.RUNNING), ("failure", "c failed")]


def test_revert_gets_the_atoms_result_or_failure_and_the_flow_failures():
    a, b = Echo("a"), Echo("b", fails=1)
    runtime, _ = make(LinearFlow("f").add(a, b))
    actions = runtime.start()
    actions = runtime.executed_ok(actions[0][1], "A")
    failure = Failure.from_exception(RuntimeError("boom"))
    (revert_b,) = runtime.executed_failed(actions[0][1], failure)
    assert revert_b[0] == ActionKind.REVERT
    assert revert_b[3]["result"] is failure and revert_b[3]["flow_failures"] == {"b": failure}
    (revert_a,) = runtime.reverted_ok(revert_b[1], None)
    assert revert_a[3]["result"] == "A"


def test_running_atoms_finish_before_a_revert_starts():
    runtime, _ = make(UnorderedFlow("f").add(Echo("a"), Echo("b")))
    a, b = sorted(runtime.start(), key=lambda action: action[2].name)
    assert runtime.executed_failed(b[1], Failure.from_exception(RuntimeError("b"))) == []
    reverts = runtime.executed_ok(a[1], "A")
    assert sorted(names(reverts)) == [(ActionKind.REVERT, "a"), (ActionKind.REVERT, "b")]


def test_failed_revert_ends_in_failure_raising_only_the_revert_failure():
    runtime, recorder = make(LinearFlow("f").add(Echo("a"), Echo("b", fail_revert=True), Echo("c", fails=1)))
    assert drive(runtime)[-2:] == [("revert", "c"), ("revert", "b")]  # a keeps its state
    assert runtime.end_state == states.FAILURE
    assert [f.exception_str for f in runtime.failures] == ["b revert failed"]
    assert recorder.record("a").state == states.SUCCESS
    assert recorder.of("b")[-1] == ("revert_failure", "b revert failed")


def test_never_resolve_ends_in_failure_without_reverting():
    runtime, _ = make(LinearFlow("f").add(Echo("a"), Echo("b", fails=1)), never_resolve=True)
    assert drive(runtime) == [("execute", "a"), ("execute", "b")]
    assert runtime.end_state == states.FAILURE


def test_unstorable_result_fails_its_atom_before_anything_uses_it():
    def recorder_of(compiled: CompiledFlow) -> FakeRecorder:
        recorder = FakeRecorder(compiled)
        recorder.checks_results = True
        recorder.refused.add("bad")
        return recorder

    runtime, recorder = make(LinearFlow("f").add(Echo("a", value="bad"), Echo("b")), recorder_of=recorder_of)
    assert drive(runtime) == [("execute", "a"), ("revert", "a")]
    assert [f.exception_str for f in runtime.failures] == ["cannot store 'bad'"]
    assert ("result", "bad") not in recorder.of("a")


# -- retries ------------------------------------------------------------------------------------


def test_retry_runs_its_flow_again_with_its_history():
    flow = LinearFlow("f", retry=Times(3, name="r", provides="attempt")).add(
        Echo("a", fails=2, requires="attempt")
    )
    runtime, recorder = make(flow)
    done = drive(runtime)
    assert [name for kind, name in done if kind == "execute"] == ["r", "a", "r", "a", "r", "a"]
    assert runtime.end_state == states.SUCCESS
    # Each failure was added to the retry's history before it was asked what to do.
    assert [call for call in recorder.of("r") if call[0] == "retry_failure"] == [("retry_failure", "a")] * 2
    assert [call for call in recorder.of("r") if call[0] == "result"] == [
        ("result", 1),
        ("result", 2),
        ("result", 3),
    ]
    # The retry is RETRYING (its intention back to EXECUTE) when its flow runs again.
    assert ("state", states.RETRYING) in recorder.of("r")


def test_retry_execute_sees_every_attempt_and_the_failures_in_it():
    seen: list[Any] = []

    class Watching(Times):
        def execute(self, history: Any, *args: Any, **kwargs: Any) -> int:
            seen.append([sorted(failures) for _, failures in history])
            return super().execute(history, *args, **kwargs)

    flow = LinearFlow("f", retry=Watching(2, name="r")).add(Echo("a", fails=1))
    runtime, _ = make(flow)
    drive(runtime)
    assert seen == [[], [["a"]]]


def test_retry_that_gives_up_reverts_its_flow_and_raises_the_failure():
    flow = LinearFlow("f", retry=Times(2, name="r")).add(Echo("a", fails=5))
    runtime, recorder = make(flow)
    done = drive(runtime)
    assert done[-2:] == [("revert", "a"), ("revert", "r")]
    assert runtime.end_state == states.REVERTED
    assert [f.exception_str for f in runtime.failures] == ["a failed"]
    assert recorder.record("r").state == states.REVERTED


# -- resuming from what was recorded ---------------------------------------------------------------


def _recorded(**given: dict[str, Any]) -> Any:
    def recorder_of(compiled: CompiledFlow) -> FakeRecorder:
        recorder = FakeRecorder(compiled)
        for name, fields in given.items():
            for key, value in fields.items():
                setattr(recorder.record(name), key, value)
        return recorder

    return recorder_of


def test_resume_keeps_finished_atoms_and_runs_the_interrupted_one_again():
    flow = LinearFlow("f").add(Echo("a", provides="x"), Echo("b", requires="x"), Echo("c"))
    runtime, recorder = make(
        flow,
        _recorded(a={"state": states.SUCCESS, "results": "A"}, b={"state": states.RUNNING}),
    )
    (b,) = runtime.start()
    assert b[2].name == "b" and b[3] == {"x": "A"}  # a's recorded result, a not run again
    assert recorder.of("b")[0] == ("reset", states.PENDING)
    assert drive(runtime, [b]) == [("execute", "b"), ("execute", "c")]
    assert runtime.end_state == states.SUCCESS
    assert recorder.of("a") == []


def test_resume_of_an_ended_run_forgets_the_revert_and_runs_again():
    flow = LinearFlow("f").add(Echo("a"), Echo("b"))
    failure = Failure.from_exception(RuntimeError("earlier"))
    runtime, recorder = make(
        flow,
        _recorded(
            a={"state": states.REVERTED, "intention": states.REVERT},
            b={"state": states.REVERTED, "intention": states.REVERT, "failure": failure},
        ),
    )
    assert drive(runtime) == [("execute", "a"), ("execute", "b")]
    assert runtime.end_state == states.SUCCESS
    assert recorder.of("a")[0] == ("reset", states.PENDING)


def test_resume_continues_an_interrupted_revert_without_running_anything_again():
    flow = LinearFlow("f").add(Echo("a"), Echo("b"), Echo("c"))
    failure = Failure.from_exception(RuntimeError("c broke"))
    runtime, recorder = make(
        flow,
        _recorded(
            a={"state": states.SUCCESS, "intention": states.REVERT, "results": "A"},
            b={"state": states.REVERTING, "intention": states.REVERT, "results": "B"},
            c={"state": states.REVERTED, "intention": states.REVERT, "failure": failure},
        ),
        interrupted=True,
    )
    actions = runtime.start()
    assert names(actions) == [(ActionKind.REVERT, "b")]
    assert actions[0][3]["result"] == "B"  # the recorded result, read once at the start
    assert drive(runtime, actions) == [("revert", "b"), ("revert", "a")]
    assert runtime.end_state == states.REVERTED
    assert [f.exception_str for f in runtime.failures] == ["c broke"]  # rebuilt from the record
    assert recorder.of("c") == []  # reverted already: not reverted twice


def test_resume_of_a_retried_flow_runs_it_again_with_its_history():
    flow = LinearFlow("f", retry=Times(3, name="r")).add(Echo("a"))
    failure = Failure.from_exception(RuntimeError("a broke"))
    runtime, recorder = make(
        flow,
        _recorded(
            r={"state": states.SUCCESS, "intention": states.RETRY, "results": [(1, {"a": failure})]},
            a={"state": states.REVERTED, "intention": states.REVERT, "failure": failure},
        ),
        interrupted=True,
    )
    done = drive(runtime)
    assert done == [("execute", "r"), ("execute", "a")]
    assert runtime.end_state == states.SUCCESS
    assert ("result", 2) in recorder.of("r")  # the second attempt: the history was kept


@pytest.mark.parametrize("interrupted", [False, True])
def test_resume_of_a_finished_run_asks_for_nothing(interrupted):
    flow = LinearFlow("f").add(Echo("a"), Echo("b"))
    runtime, recorder = make(
        flow,
        _recorded(a={"state": states.SUCCESS, "results": 1}, b={"state": states.SUCCESS, "results": 2}),
        interrupted=interrupted,
    )
    assert runtime.start() == []
    assert runtime.finished and runtime.end_state == states.SUCCESS
    assert recorder.log == []


def test_resume_decides_a_failure_recorded_before_the_run_was_cut_off():
    # Killed after a's failure was recorded, before its retry was asked: the retry decides now.
    flow = LinearFlow("f", retry=Times(3, name="r")).add(Echo("a"))
    failure = Failure.from_exception(RuntimeError("a broke"))
    runtime, recorder = make(
        flow,
        _recorded(
            r={"state": states.SUCCESS, "results": [(1, {})]},
            a={"state": states.FAILURE, "failure": failure},
        ),
        interrupted=True,
    )
    assert drive(runtime) == [("revert", "a"), ("execute", "r"), ("execute", "a")]
    assert runtime.end_state == states.SUCCESS
    assert ("retry_failure", "a") in recorder.of("r")  # added to the attempt it failed in
    assert ("result", 2) in recorder.of("r")


def test_resume_of_a_failure_with_no_retry_reverts_and_raises_it():
    flow = LinearFlow("f").add(Echo("a"), Echo("b"))
    failure = Failure.from_exception(RuntimeError("b broke"))
    runtime, _ = make(
        flow,
        _recorded(
            a={"state": states.SUCCESS, "results": "A"},
            b={"state": states.FAILURE, "failure": failure},
        ),
        interrupted=True,
    )
    assert drive(runtime) == [("revert", "b"), ("revert", "a")]
    assert runtime.end_state == states.REVERTED
    assert [f.exception_str for f in runtime.failures] == ["b broke"]


def test_resume_reverts_the_whole_flow_of_a_retry_that_decided_to_retry():
    # Killed right after the retry's RETRY was recorded: a and b had no intention yet.
    flow = LinearFlow("f", retry=Times(3, name="r")).add(Echo("a"), Echo("b"))
    failure = Failure.from_exception(RuntimeError("b broke"))
    runtime, recorder = make(
        flow,
        _recorded(
            r={"state": states.SUCCESS, "intention": states.RETRY, "results": [(1, {"b": failure})]},
            a={"state": states.SUCCESS, "results": "A"},
            b={"state": states.FAILURE, "failure": failure},
        ),
        interrupted=True,
    )
    assert drive(runtime) == [
        ("revert", "b"),
        ("revert", "a"),
        ("execute", "r"),
        ("execute", "a"),
        ("execute", "b"),
    ]
    assert runtime.end_state == states.SUCCESS
    assert ("result", 2) in recorder.of("r")


def test_resume_of_a_retry_cut_off_while_restarting_its_flow_restarts_it():
    # RETRYING recorded, the flow's atoms not all reset yet: b still IGNORE from the last attempt.
    flow = LinearFlow("f", retry=Times(3, name="r")).add(Echo("a"), Echo("b"))
    runtime, recorder = make(
        flow,
        _recorded(
            r={"state": states.RETRYING, "results": [(1, {})]},
            a={"state": states.PENDING},
            b={"state": states.IGNORE},
        ),
        interrupted=True,
    )
    # b goes back to PENDING when the run starts (after the flow is RUNNING, as in a restart).
    assert recorder.of("b") == []
    assert recorder.of("r") == []  # not reset: it goes from RETRYING to RUNNING, history kept
    assert drive(runtime) == [("execute", "r"), ("execute", "a"), ("execute", "b")]
    assert recorder.of("b")[0] == ("reset", states.PENDING)
    assert recorder.of("r") == [("state", states.RUNNING), ("result", 2)]
    assert runtime.end_state == states.SUCCESS


def test_retry_reverts_and_runs_again_what_follows_its_flow():
    # a (outside the retried flow) had run with b's x: reverting the flow reverts a too.
    flow = GraphFlow("g").add(
        Echo("a", requires="x"),
        LinearFlow("sub", retry=Times(2, name="r")).add(Echo("b", provides="x"), Echo("c")),
    )
    failure = Failure.from_exception(RuntimeError("c broke"))
    runtime, _ = make(
        flow,
        _recorded(
            r={"state": states.SUCCESS, "results": [(1, {})]},
            b={"state": states.SUCCESS, "results": "B"},
            a={"state": states.SUCCESS, "results": "A"},
            c={"state": states.FAILURE, "failure": failure},
        ),
        interrupted=True,
    )
    assert drive(runtime) == [
        ("revert", "a"),
        ("revert", "c"),
        ("revert", "b"),
        ("execute", "r"),
        ("execute", "b"),
        ("execute", "c"),
        ("execute", "a"),
    ]
    assert runtime.end_state == states.SUCCESS


def test_two_retried_flows_followed_by_one_atom_both_run_again():
    flow = LinearFlow("main").add(
        UnorderedFlow("u").add(
            LinearFlow("s1", retry=Times(2, name="r1")).add(Echo("x", fails=1)),
            LinearFlow("s2", retry=Times(2, name="r2")).add(Echo("y", fails=1)),
        ),
        Echo("z"),
    )
    runtime, _ = make(flow)
    done = drive(runtime)
    assert sorted(name for kind, name in done if kind == "revert") == ["x", "y"]
    assert [name for kind, name in done if kind == "execute"][-1] == "z"
    assert runtime.end_state == states.SUCCESS


def test_suspend_during_a_retry_revert_stops_it_and_a_resumed_run_retries():
    flow = LinearFlow("f", retry=Times(3, name="r")).add(Echo("a"), Echo("b"), Echo("c", fails=1))
    runtime, recorder = make(flow)
    c = flow._children[2]
    actions = runtime.start()
    while actions:
        (action,) = actions
        kind, i, atom, kwargs = action
        if kind == ActionKind.EXECUTE:
            try:
                actions = runtime.executed_ok(i, atom.execute(**kwargs))
            except RuntimeError as exc:
                actions = runtime.executed_failed(i, Failure.from_exception(exc))
        else:
            runtime.suspend()  # while c's revert runs
            actions = runtime.reverted_ok(i, atom.revert(**kwargs))
    assert runtime.finished and runtime.end_state == states.SUSPENDED
    assert [r.state for r in recorder.records if r is not None] == [
        states.SUCCESS,  # r: RETRY recorded, not restarted yet
        states.SUCCESS,
        states.SUCCESS,
        states.REVERTED,
    ]
    assert recorder.record("r").intention == states.RETRY
    assert c.fails == 0
    compiled, atoms = bind_flow(flow)
    resumed = Runtime(compiled, recorder, None, interrupted=True, atoms=atoms)
    assert drive(resumed) == [
        ("revert", "b"),
        ("revert", "a"),
        ("execute", "r"),
        ("execute", "a"),
        ("execute", "b"),
        ("execute", "c"),
    ]
    assert resumed.end_state == states.SUCCESS
