"""Resuming a run that was interrupted while it reverted: the revert goes on, nothing runs again.

A task's revert raises ``_Crash``, a ``BaseException`` the engine does not
capture: it leaves the run as a killed process would (the atom REVERTING,
the flow RUNNING, every transition before it recorded). A new engine on
the same flow detail then resumes it.
"""

from __future__ import annotations

from typing import Any

import pytest

from greenflow import GraphFlow, LinearFlow, Task, Times, UnorderedFlow, load, states
from greenflow.exceptions import WrappedFailure
from greenflow.persistence import MemoryBackend


class _Crash(BaseException):
    """Stands for the process dying: nothing in the engine catches it."""


class _CrashingRevert(Task):
    """Records its calls in ``calls``; its first revert "kills the process"."""

    def __init__(self, name: str, calls: list[tuple[str, str]], **options: Any) -> None:
        super().__init__(name, **options)
        self.calls = calls
        self.crash = True

    def execute(self, **kwargs: Any) -> str:
        self.calls.append(("execute", self.name))
        return self.name

    def revert(self, result: Any, flow_failures: dict[str, Any], **kwargs: Any) -> None:
        self.calls.append(("revert", self.name))
        if self.crash:
            self.crash = False
            raise _Crash


def _crash(flow: Any, **options: Any) -> Any:
    """Run ``flow`` until the crash; return its flow detail, as the killed run left it."""
    engine = load(flow, backend=MemoryBackend(), **options)
    with pytest.raises(_Crash):
        engine.run()
    assert engine.storage.get_flow_state() == states.RUNNING
    return engine


def _resume(crashed: Any, flow: Any, **options: Any) -> Any:
    return load(flow, flow_detail=crashed.storage.flow_detail, backend=crashed.storage.backend, **options)


def _states(engine: Any, names: Any) -> dict[str, tuple[str, str]]:
    return engine.storage.get_atoms_states(names)


def test_resumed_run_finishes_an_interrupted_revert_without_running_anything_again(step, calls):
    flow = LinearFlow("lin").add(step("a"), step("b"), _CrashingRevert("c", calls), step("d", fail=True))
    crashed = _crash(flow)
    assert calls == [*(("execute", n) for n in "abcd"), ("revert", "d"), ("revert", "c")]
    assert _states(crashed, "abcd") == {
        "a": (states.SUCCESS, states.REVERT),
        "b": (states.SUCCESS, states.REVERT),
        "c": (states.REVERTING, states.REVERT),
        "d": (states.REVERTED, states.REVERT),
    }
    calls.clear()
    engine = _resume(crashed, flow)
    with pytest.raises(RuntimeError, match=r"^d failed$"):
        engine.run()
    # c was cut off mid-revert: reverted again; d was reverted already; nothing executes.
    assert calls == [("revert", "c"), ("revert", "b"), ("revert", "a")]
    assert engine.storage.get_flow_state() == states.REVERTED
    assert {name: state for name, (state, _) in _states(engine, "abcd").items()} == dict.fromkeys(
        "abcd", states.REVERTED
    )


def test_resumed_revert_reports_the_atom_transitions_it_makes(step, calls, listen):
    flow = LinearFlow("lin").add(step("a"), _CrashingRevert("c", calls), step("d", fail=True))
    crashed = _crash(flow)
    engine = _resume(crashed, flow)
    events = listen(engine)
    with pytest.raises(RuntimeError):
        engine.run()
    assert events.of("c") == [states.REVERTED]
    assert events.of("a") == [states.REVERTING, states.REVERTED]
    assert events.of("d") == []
    assert events.flow == [states.REVERTED]  # the flow was RUNNING already


def test_resumed_revert_keeps_reverse_dependency_order_across_branches(step, calls):
    # a -> (b, c) -> d; d fails; c's revert crashes; b may have been reverted or not.
    flow = GraphFlow("g").add(
        step("a", provides="x"),
        step("b", requires="x", provides="y"),
        _CrashingRevert("c", calls, requires="x", provides="z"),
        step("d", requires=("y", "z"), fail=True),
    )
    crashed = _crash(flow)
    reverted_before = {name for kind, name in calls if kind == "revert"} - {"c"}
    calls.clear()
    engine = _resume(crashed, flow)
    with pytest.raises(RuntimeError, match=r"^d failed$"):
        engine.run()
    reverted = [name for kind, name in calls if kind == "revert"]
    assert [name for kind, name in calls if kind == "execute"] == []
    assert reverted[-1] == "a" and "c" in reverted
    assert not set(reverted) & reverted_before
    assert set(reverted) | reverted_before == set("abcd")


def test_resumed_revert_raises_every_failure_it_recorded(step, calls):
    flow = LinearFlow("lin").add(
        _CrashingRevert("a", calls),
        UnorderedFlow("both").add(step("b", fail=True, error=KeyError), step("c", fail=True)),
    )
    crashed = _crash(flow, engine="parallel")
    engine = _resume(crashed, flow, engine="parallel")
    with pytest.raises(WrappedFailure) as info:
        engine.run()
    assert sorted(f.exception_str for f in info.value) == ["'b failed'", "c failed"]
    assert engine.storage.get_flow_state() == states.REVERTED


def test_resumed_run_of_a_revert_for_a_retry_runs_the_flow_again_with_its_history(step, calls):
    a = _CrashingRevert("a", calls, requires="attempt")
    flow = LinearFlow("f", retry=Times(3, name="r", provides="attempt")).add(a, step("b", fail=1))
    crashed = _crash(flow)
    assert calls == [("execute", "a"), ("execute", "b"), ("revert", "b"), ("revert", "a")]
    assert _states(crashed, ["r"]) == {"r": (states.SUCCESS, states.RETRY)}
    calls.clear()
    engine = _resume(crashed, flow)
    engine.run()
    assert calls == [("revert", "a"), ("execute", "a"), ("execute", "b")]
    assert engine.storage.get_flow_state() == states.SUCCESS
    assert engine.storage.fetch("attempt") == 2
    history = engine.storage.get_retry_history("r")
    assert [sorted(failures) for _, failures in history] == [["b"], []]
    assert _states(engine, ["r", "a", "b"]) == dict.fromkeys(
        ["r", "a", "b"], (states.SUCCESS, states.EXECUTE)
    )


def test_run_killed_after_its_revert_ended_raises_without_reverting_again(step, calls):
    flow = LinearFlow("lin").add(step("a"), step("b", fail=True), step("c"))
    first = load(flow, backend=MemoryBackend())
    with pytest.raises(RuntimeError):
        first.run()
    # Killed before the flow's final state was recorded.
    first.storage.flow_detail.state = states.RUNNING
    calls.clear()
    engine = _resume(first, flow)
    with pytest.raises(RuntimeError, match=r"^b failed$"):
        engine.run()
    assert calls == []
    assert engine.storage.get_flow_state() == states.REVERTED


def test_revert_failure_cut_off_by_a_crash_is_reverted_again_on_resumption(step, calls):
    flow = LinearFlow("lin").add(_CrashingRevert("a", calls), step("b", fail=True))
    crashed = _crash(flow)
    detail = crashed.storage.flow_detail.find_by_name("a")
    # As if a's revert had failed and the process died before the flow ended.
    detail.state = states.REVERT_FAILURE
    calls.clear()
    engine = _resume(crashed, flow)
    with pytest.raises(RuntimeError, match=r"^b failed$"):
        engine.run()
    assert calls == [("revert", "a")]
    assert engine.storage.get_atom_state("a") == states.REVERTED


def test_running_a_flow_that_ended_in_failure_again_forgets_its_revert(step, calls):
    flow = LinearFlow("lin").add(step("a"), step("b", fail_revert=True), step("c", fail=1))
    engine = load(flow, backend=MemoryBackend())
    with pytest.raises(RuntimeError, match="b revert failed"):
        engine.run()
    assert engine.storage.get_flow_state() == states.FAILURE
    assert _states(engine, ["a"]) == {"a": (states.SUCCESS, states.REVERT)}
    calls.clear()
    engine.run()
    # The ended run's revert is over: a keeps its result; what did not succeed runs again.
    assert calls == [("execute", "b"), ("execute", "c")]
    assert _states(engine, "abc") == dict.fromkeys("abc", (states.SUCCESS, states.EXECUTE))


class _CrashingTimes(Times):
    """A ``Times`` retry whose first ``on_failure`` "kills the process" (the failure is recorded)."""

    crash = True

    def on_failure(self, history: Any, *args: Any, **kwargs: Any) -> Any:
        if _CrashingTimes.crash:
            _CrashingTimes.crash = False
            raise _Crash
        return super().on_failure(history, *args, **kwargs)


def test_failure_recorded_before_a_crash_is_decided_by_its_retry_on_resumption(step, calls):
    _CrashingTimes.crash = True
    flow = LinearFlow("f", retry=_CrashingTimes(3, name="r", provides="attempt")).add(
        step("a", requires="attempt", fail=1)
    )
    crashed = _crash(flow)
    assert _states(crashed, ["a"]) == {"a": (states.FAILURE, states.EXECUTE)}
    calls.clear()
    engine = _resume(crashed, flow)
    engine.run()
    # Not run again as if nothing had happened: reverted, and the retry's second attempt runs it.
    assert calls == [("revert", "a"), ("execute", "a")]
    assert engine.storage.fetch("attempt") == 2
    assert engine.storage.get_flow_state() == states.SUCCESS


def test_records_written_before_the_first_run_are_taken_as_they_say(step, calls, listen):
    # A flow prepared by hand (or by TaskFlow's tools): r had decided to retry its flow.
    flow = LinearFlow("f", retry=Times(3, name="r")).add(step("a"), step("b"))
    prepared = load(flow, backend=MemoryBackend())
    prepared.prepare()
    for name, state, intention in (
        ("r", states.SUCCESS, states.RETRY),
        ("a", states.REVERTED, states.EXECUTE),
        ("b", states.REVERTED, states.EXECUTE),
    ):
        detail = prepared.storage.flow_detail.find_by_name(name)
        detail.state, detail.intention = state, intention
    engine = _resume(prepared, flow)
    assert engine.storage.get_flow_state() == states.PENDING
    events = listen(engine)
    engine.run()
    assert calls == [("execute", "a"), ("execute", "b")]
    assert events.of("r") == [states.RETRYING, states.RUNNING, states.SUCCESS]
    assert engine.storage.get_flow_state() == states.SUCCESS


def test_resumed_revert_raises_the_failure_of_an_atom_the_flow_no_longer_has(step, calls):
    crashed = _crash(LinearFlow("lin").add(_CrashingRevert("a", calls), step("b"), step("c", fail=True)))
    assert _states(crashed, ["c"]) == {"c": (states.REVERTED, states.REVERT)}
    calls.clear()
    # The flow changed while it was down: c, whose failure the revert is for, is gone.
    engine = _resume(crashed, LinearFlow("lin").add(step("a"), step("b")))
    with pytest.raises(RuntimeError, match=r"^c failed$"):
        engine.run()
    assert engine.storage.get_flow_state() == states.REVERTED
    assert calls == [("revert", "a")]
