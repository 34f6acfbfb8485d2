"""Serial engine: what happens when an atom fails (reverts, final states, what run() raises)."""

from __future__ import annotations

from typing import Any

import pytest

from greenflow import Failure, GraphFlow, LinearFlow, UnorderedFlow, load, states
from greenflow.exceptions import NotFoundError, WrappedFailure


def _states(engine: Any, names: Any) -> dict[str, str]:
    return {name: engine.storage.get_atom_state(name) for name in names}


def test_failed_linear_flow_reverts_atoms_that_ran_in_reverse_order(step, calls):
    flow = LinearFlow("lin").add(step("a"), step("b"), step("c", fail=True), step("d"))
    engine = load(flow)
    with pytest.raises(RuntimeError, match=r"^c failed$"):
        engine.run()
    assert calls == [
        ("execute", "a"),
        ("execute", "b"),
        ("execute", "c"),
        ("revert", "c"),
        ("revert", "b"),
        ("revert", "a"),
    ]
    assert engine.storage.get_flow_state() == states.REVERTED


def test_atoms_that_never_ran_stay_pending(step):
    engine = load(LinearFlow("lin").add(step("a", fail=True), step("b"), step("c")))
    with pytest.raises(RuntimeError):
        engine.run()
    assert _states(engine, "abc") == {"a": states.REVERTED, "b": states.PENDING, "c": states.PENDING}


def test_revert_receives_the_atom_result_and_the_flow_failures(step):
    a = step("a", value=7)
    c = step("c", fail=True)
    with pytest.raises(RuntimeError):
        load(LinearFlow("lin").add(a, c)).run()
    [(result, flow_failures)] = a.reverts
    assert result == 7
    assert set(flow_failures) == {"c"}
    assert isinstance(flow_failures["c"], Failure)
    assert flow_failures["c"].check(RuntimeError)
    assert flow_failures["c"].exception_str == "c failed"


def test_failed_atom_revert_receives_its_own_failure_as_result(step):
    c = step("c", fail=True, error=KeyError)
    with pytest.raises(KeyError):
        load(LinearFlow("lin").add(c)).run()
    [(result, flow_failures)] = c.reverts
    assert isinstance(result, Failure)
    assert result.check(KeyError)
    assert flow_failures == {"c": result}


def test_revert_receives_the_execute_arguments(step):
    a = step("a", requires="x", fail=True)
    with pytest.raises(RuntimeError):
        load(LinearFlow("lin").add(a), store={"x": 3}).run()
    assert a.received == [{"x": 3}]
    assert len(a.reverts) == 1


def test_run_reraises_the_original_exception(step):
    class QuotaExceeded(Exception):
        pass

    engine = load(LinearFlow("lin").add(step("a", fail=True, error=QuotaExceeded)))
    with pytest.raises(QuotaExceeded, match=r"^a failed$"):
        engine.run()
    failure = engine.storage.get("a")
    assert isinstance(failure, Failure) and failure.check(QuotaExceeded)
    assert set(engine.storage.get_failures()) == {"a"}


def test_unordered_flow_reverts_finished_atoms(step, calls):
    flow = UnorderedFlow("un").add(step("a"), step("b", fail=True), step("c"))
    engine = load(flow)
    with pytest.raises(RuntimeError, match="b failed"):
        engine.run()
    assert sorted(name for kind, name in calls if kind == "execute") == ["a", "b", "c"]
    assert sorted(name for kind, name in calls if kind == "revert") == ["a", "b", "c"]
    assert _states(engine, "abc") == dict.fromkeys("abc", states.REVERTED)


def test_two_failures_in_an_unordered_flow_raise_a_wrapped_failure(step):
    flow = UnorderedFlow("un").add(
        step("a", fail=True, error=ValueError), step("b", fail=True, error=KeyError)
    )
    engine = load(flow)
    with pytest.raises(WrappedFailure) as info:
        engine.run()
    wrapped = info.value
    assert len(wrapped) == 2
    assert wrapped.check(ValueError) is ValueError
    assert wrapped.find(ValueError).exception_str == "a failed"
    assert wrapped.check(KeyError) is not None
    assert "2 atoms failed" in str(wrapped)
    assert engine.storage.get_flow_state() == states.REVERTED
    assert _states(engine, "ab") == dict.fromkeys("ab", states.REVERTED)


def test_flow_notifier_sees_running_then_reverted(step, listen):
    engine = load(LinearFlow("lin").add(step("a"), step("b", fail=True)))
    events = listen(engine)
    with pytest.raises(RuntimeError):
        engine.run()
    assert events.flow == [states.RUNNING, states.REVERTED]


def test_graph_flow_reverts_in_reverse_dependency_order(step, calls):
    # a -> (b, c) -> d, d fails: d first, then b and c, then a.
    a = step("a", provides="x")
    b = step("b", requires="x", provides="y")
    c = step("c", requires="x", provides="z")
    d = step("d", requires=("y", "z"), fail=True)
    engine = load(GraphFlow("g").add(d, c, b, a))
    with pytest.raises(RuntimeError):
        engine.run()
    reverted = [name for kind, name in calls if kind == "revert"]
    assert reverted[0] == "d"
    assert sorted(reverted[1:3]) == ["b", "c"]
    assert reverted[3] == "a"


def test_failure_in_a_nested_flow_reverts_the_enclosing_flows_too(step, calls):
    inner = LinearFlow("inner").add(step("b"), step("c", fail=True))
    engine = load(LinearFlow("outer").add(step("a"), inner, step("d")))
    with pytest.raises(RuntimeError):
        engine.run()
    assert [name for kind, name in calls if kind == "revert"] == ["c", "b", "a"]
    assert _states(engine, "abcd") == {
        "a": states.REVERTED,
        "b": states.REVERTED,
        "c": states.REVERTED,
        "d": states.PENDING,
    }


def test_revert_that_raises_leaves_the_atom_in_revert_failure_and_the_flow_in_failure(step, calls, listen):
    flow = LinearFlow("lin").add(step("a", fail_revert=True, error=KeyError), step("b"), step("c", fail=True))
    engine = load(flow)
    events = listen(engine)
    # As in TaskFlow, the revert failure is what is raised (the execute failure stays in storage).
    with pytest.raises(KeyError, match="a revert failed"):
        engine.run()
    assert [name for kind, name in calls if kind == "revert"] == ["c", "b", "a"]
    assert _states(engine, "abc") == {"a": states.REVERT_FAILURE, "b": states.REVERTED, "c": states.REVERTED}
    assert engine.storage.get_flow_state() == states.FAILURE
    assert events.flow == [states.RUNNING, states.FAILURE]
    assert set(engine.storage.get_revert_failures()) == {"a"}
    assert set(engine.storage.get_failures()) == {"c"}


def test_revert_failure_stops_reverting_atoms_before_it(step, calls):
    flow = LinearFlow("lin").add(step("a"), step("b", fail_revert=True), step("c", fail=True))
    engine = load(flow)
    with pytest.raises(RuntimeError, match="b revert failed"):
        engine.run()
    assert [name for kind, name in calls if kind == "revert"] == ["c", "b"]
    assert _states(engine, "abc") == {"a": states.SUCCESS, "b": states.REVERT_FAILURE, "c": states.REVERTED}


def test_never_resolve_leaves_the_failed_atom_failed_and_reverts_nothing(step, calls):
    flow = LinearFlow("lin").add(step("a"), step("b", fail=True), step("c"))
    engine = load(flow, never_resolve=True)
    with pytest.raises(RuntimeError, match="b failed"):
        engine.run()
    assert not [c for c in calls if c[0] == "revert"]
    assert _states(engine, "abc") == {"a": states.SUCCESS, "b": states.FAILURE, "c": states.PENDING}
    assert engine.storage.get_flow_state() == states.FAILURE


def test_missing_result_item_fails_the_consumer_and_reverts(step, calls):
    producer = step("producer", provides={"host"}, value={"other": 1})
    consumer = step("consumer", requires="host")
    engine = load(LinearFlow("lin").add(producer, consumer))
    with pytest.raises(NotFoundError, match="consumer") as info:
        engine.run()
    assert "host" in str(info.value)
    assert ("execute", "consumer") not in calls
    assert engine.storage.get_flow_state() == states.REVERTED
    assert engine.storage.get_atom_state("producer") == states.REVERTED
