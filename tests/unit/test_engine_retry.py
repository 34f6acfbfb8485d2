"""Serial engine: retry controllers (Times, ForEach, AlwaysRevert...) and their decisions."""

from __future__ import annotations

from typing import Any

import pytest

from greenflow import (
    AlwaysRevert,
    AlwaysRevertAll,
    Decision,
    ForEach,
    LinearFlow,
    ParameterizedForEach,
    Retry,
    Times,
    UnorderedFlow,
    load,
    states,
)


def _states(engine: Any, names: Any) -> dict[str, str]:
    return {name: engine.storage.get_atom_state(name) for name in names}


def _executed(calls: list[tuple[str, str]]) -> list[str]:
    return [name for kind, name in calls if kind == "execute"]


def _reverted(calls: list[tuple[str, str]]) -> list[str]:
    return [name for kind, name in calls if kind == "revert"]


# -- Times ----------------------------------------------------------------------------------


def test_times_runs_the_flow_again_until_it_succeeds(step, calls):
    a = step("a", requires="attempt")
    flow = LinearFlow("f", retry=Times(3, provides="attempt")).add(a, step("b", fail=2))
    engine = load(flow)
    engine.run()
    assert _executed(calls) == ["a", "b", "a", "b", "a", "b"]
    assert [received["attempt"] for received in a.received] == [1, 2, 3]
    assert engine.storage.get_flow_state() == states.SUCCESS
    assert _states(engine, ["f_retry", "a", "b"]) == dict.fromkeys(["f_retry", "a", "b"], states.SUCCESS)
    history = engine.storage.get_retry_history("f_retry")
    assert list(history.provided_iter()) == [1, 2, 3]
    assert [sorted(failures) for _, failures in history] == [["b"], ["b"], []]
    assert engine.storage.fetch("attempt") == 3


def test_retry_reverts_its_flow_in_reverse_order_before_running_it_again(step, calls, listen):
    flow = LinearFlow("f", retry=Times(2, name="r")).add(step("a"), step("b"), step("c", fail=1))
    engine = load(flow)
    events = listen(engine)
    engine.run()
    assert calls == [
        ("execute", "a"),
        ("execute", "b"),
        ("execute", "c"),
        ("revert", "c"),
        ("revert", "b"),
        ("revert", "a"),
        ("execute", "a"),
        ("execute", "b"),
        ("execute", "c"),
    ]
    assert events.of("r") == [states.RUNNING, states.SUCCESS, states.RETRYING, states.RUNNING, states.SUCCESS]
    assert events.of("a") == [
        states.RUNNING,
        states.SUCCESS,
        states.REVERTING,
        states.REVERTED,
        states.PENDING,
        states.RUNNING,
        states.SUCCESS,
    ]
    # Every atom of the flow is back to PENDING before the retry runs again.
    retrying = events.atoms.index(("r", states.RETRYING))
    rerun = events.atoms.index(("r", states.RUNNING), retrying)
    assert sorted(events.atoms[retrying + 1 : rerun]) == [(n, states.PENDING) for n in "abc"]
    assert events.flow == [states.RUNNING, states.SUCCESS]


def test_times_gives_up_after_its_attempts_and_reverts_the_flow(step, calls):
    flow = LinearFlow("f", retry=Times(2)).add(step("a"), step("b", fail=True))
    engine = load(flow)
    with pytest.raises(RuntimeError, match="b failed"):
        engine.run()
    assert _executed(calls) == ["a", "b", "a", "b"]
    assert _states(engine, ["f_retry", "a", "b"]) == dict.fromkeys(["f_retry", "a", "b"], states.REVERTED)
    assert engine.storage.get_flow_state() == states.REVERTED
    # As in TaskFlow, a reverted retry forgets its attempts.
    assert len(engine.storage.get_retry_history("f_retry")) == 0


def test_retry_without_a_name_is_named_after_its_flow(step):
    retry = Times(2)
    engine = load(LinearFlow("deploy", retry=retry).add(step("a")))
    engine.run()
    assert retry.name == "deploy_retry"
    assert engine.storage.get_atom_state("deploy_retry") == states.SUCCESS


def test_retry_in_unordered_flow_reverts_and_reruns_every_atom(step, calls):
    flow = UnorderedFlow("u", retry=Times(2)).add(step("a", fail=1), step("b", fail=1), step("c"))
    engine = load(flow)
    engine.run()
    assert sorted(_executed(calls)) == ["a", "a", "b", "b", "c", "c"]
    assert sorted(_reverted(calls)) == ["a", "b", "c"]
    assert engine.storage.get_flow_state() == states.SUCCESS


def test_atoms_outside_the_retry_flow_are_not_run_again(step, calls):
    inner = LinearFlow("inner", retry=Times(3)).add(step("a", fail=1))
    engine = load(LinearFlow("outer").add(step("before"), inner, step("after")))
    engine.run()
    assert _executed(calls) == ["before", "a", "a", "after"]
    assert _reverted(calls) == ["a"]


# -- ForEach ----------------------------------------------------------------------------------


def test_for_each_provides_the_next_untried_value_on_each_attempt(step, calls):
    a = step("a", requires="host", fail=2)
    engine = load(LinearFlow("f", retry=ForEach(["h1", "h2", "h3"], provides="host")).add(a))
    engine.run()
    assert [received["host"] for received in a.received] == ["h1", "h2", "h3"]
    assert engine.storage.fetch("host") == "h3"


def test_for_each_reverts_when_every_value_failed(step):
    a = step("a", requires="host", fail=True)
    engine = load(LinearFlow("f", retry=ForEach(["h1", "h2"], provides="host")).add(a))
    with pytest.raises(RuntimeError):
        engine.run()
    assert [received["host"] for received in a.received] == ["h1", "h2"]
    assert engine.storage.get_flow_state() == states.REVERTED


def test_parameterized_for_each_takes_its_values_from_a_requirement(step):
    a = step("a", requires="host", fail=1)
    flow = LinearFlow("f", retry=ParameterizedForEach(provides="host")).add(a)
    engine = load(flow, store={"values": ["x", "y", "z"]})
    engine.run()
    assert [received["host"] for received in a.received] == ["x", "y"]


def test_parameterized_for_each_with_rebind_reads_another_symbol(step):
    a = step("a", requires="host", fail=1)
    retry = ParameterizedForEach(provides="host", rebind={"values": "hosts"})
    engine = load(LinearFlow("f", retry=retry).add(a), store={"hosts": ["x", "y"]})
    engine.run()
    assert [received["host"] for received in a.received] == ["x", "y"]


# -- REVERT, REVERT_ALL, defer_reverts ----------------------------------------------------------


def _revert_only_flow(step: Any, retry: Retry) -> LinearFlow:
    inner = LinearFlow("inner", retry=retry).add(step("a"), step("b", fail=True))
    return LinearFlow("outer").add(step("before"), inner, step("after"))


def test_revert_with_no_enclosing_retry_reverts_only_the_retry_flow(step, calls):
    engine = load(_revert_only_flow(step, AlwaysRevert(name="r")))
    with pytest.raises(RuntimeError, match="b failed"):
        engine.run()
    assert _reverted(calls) == ["b", "a"]
    assert _states(engine, ["before", "r", "a", "b", "after"]) == {
        "before": states.SUCCESS,
        "r": states.REVERTED,
        "a": states.REVERTED,
        "b": states.REVERTED,
        "after": states.PENDING,
    }
    assert engine.storage.get_flow_state() == states.REVERTED


def test_revert_with_defer_reverts_reverts_everything(step, calls):
    engine = load(_revert_only_flow(step, AlwaysRevert(name="r")), defer_reverts=True)
    with pytest.raises(RuntimeError, match="b failed"):
        engine.run()
    assert _reverted(calls) == ["b", "a", "before"]
    assert engine.storage.get_atom_state("before") == states.REVERTED
    assert engine.storage.get_flow_state() == states.REVERTED


def test_revert_all_reverts_everything_even_inside_an_outer_retry(step, calls):
    inner = LinearFlow("inner", retry=AlwaysRevertAll(name="r")).add(step("a"), step("b", fail=True))
    flow = LinearFlow("outer", retry=Times(3, name="outer_r")).add(step("before"), inner, step("after"))
    engine = load(flow)
    with pytest.raises(RuntimeError):
        engine.run()
    assert _executed(calls) == ["before", "a", "b"]
    assert _reverted(calls) == ["b", "a", "before"]
    assert _states(engine, ["outer_r", "before", "r", "a", "b", "after"]) == {
        "outer_r": states.REVERTED,
        "before": states.REVERTED,
        "r": states.REVERTED,
        "a": states.REVERTED,
        "b": states.REVERTED,
        "after": states.PENDING,
    }


def test_times_with_revert_all_reverts_everything_when_it_gives_up(step, calls):
    inner = LinearFlow("inner", retry=Times(2, revert_all=True)).add(step("a", fail=True))
    engine = load(LinearFlow("outer").add(step("before"), inner))
    with pytest.raises(RuntimeError):
        engine.run()
    assert _reverted(calls) == ["a", "a", "before"]


def test_inner_revert_lets_the_outer_retry_run_the_whole_outer_flow_again(step, calls):
    inner = LinearFlow("inner", retry=AlwaysRevert()).add(step("a"), step("b", fail=2))
    flow = LinearFlow("outer", retry=Times(3)).add(step("before"), inner, step("after"))
    engine = load(flow)
    engine.run()
    assert _executed(calls) == ["before", "a", "b"] * 3 + ["after"]
    assert _reverted(calls) == ["b", "a", "before"] * 2
    assert len(engine.storage.get_retry_history("outer_retry")) == 3
    assert engine.storage.get_flow_state() == states.SUCCESS


def test_inner_retry_gets_fresh_attempts_each_time_the_outer_retry_runs_it(step, calls):
    inner = LinearFlow("inner", retry=Times(2, provides="inner_attempt")).add(step("b", fail=3))
    probe = step("probe", requires="inner_attempt")
    inner.add(probe)
    flow = LinearFlow("outer", retry=Times(2)).add(step("before"), inner)
    engine = load(flow)
    engine.run()
    assert _executed(calls) == ["before", "b", "b", "before", "b", "b", "probe"]
    assert probe.received == [{"inner_attempt": 2}]
    assert list(engine.storage.get_retry_history("inner_retry").provided_iter()) == [1, 2]
    assert list(engine.storage.get_retry_history("outer_retry").provided_iter()) == [1, 2]


def test_never_resolve_does_not_retry(step, calls):
    flow = LinearFlow("f", retry=Times(3)).add(step("a"), step("b", fail=True), step("c"))
    engine = load(flow, never_resolve=True)
    with pytest.raises(RuntimeError):
        engine.run()
    assert _executed(calls) == ["a", "b"]
    assert _states(engine, ["f_retry", "a", "b", "c"]) == {
        "f_retry": states.SUCCESS,
        "a": states.SUCCESS,
        "b": states.FAILURE,
        "c": states.PENDING,
    }
    assert engine.storage.get_flow_state() == states.FAILURE


# -- custom retries -------------------------------------------------------------------------------


class _RetryOnTimeout(Retry):
    """Retries while the failures are timeouts (up to 3 attempts); otherwise reverts everything."""

    def __init__(self, seen: list[Any], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.seen = seen

    def execute(self, history, **kwargs):  # type: ignore[override]
        return f"attempt-{len(history) + 1}"

    def on_failure(self, history, **kwargs):  # type: ignore[override]
        self.seen.append([(result, sorted(failures)) for result, failures in history])
        if len(history) < 3 and history.caused_by(TimeoutError):
            return Decision.RETRY
        return Decision.REVERT_ALL

    def revert(self, history, **kwargs):  # type: ignore[override]
        self.seen.append("reverted")


def test_custom_retry_decides_from_its_history(step, calls):
    seen: list[Any] = []
    task = step("call", requires="token", fail=True, error=TimeoutError)
    flow = LinearFlow("f", retry=_RetryOnTimeout(seen, name="r", provides="token")).add(task)
    engine = load(LinearFlow("outer").add(step("before"), flow))
    with pytest.raises(TimeoutError):
        engine.run()
    assert [received["token"] for received in task.received] == ["attempt-1", "attempt-2", "attempt-3"]
    assert seen == [
        [("attempt-1", ["call"])],
        [("attempt-1", ["call"]), ("attempt-2", ["call"])],
        [("attempt-1", ["call"]), ("attempt-2", ["call"]), ("attempt-3", ["call"])],
        "reverted",
    ]
    assert _reverted(calls) == ["call"] * 3 + ["before"]


def test_custom_retry_that_sees_another_error_stops_retrying(step, calls):
    seen: list[Any] = []
    task = step("call", requires="token", fail=True, error=ValueError)
    engine = load(LinearFlow("f", retry=_RetryOnTimeout(seen, provides="token")).add(task))
    with pytest.raises(ValueError):
        engine.run()
    assert len(task.received) == 1
    assert engine.storage.get_flow_state() == states.REVERTED


def test_retry_result_is_visible_to_nested_flows_through_provides(step):
    deep = step("deep", requires="attempt")
    inner = UnorderedFlow("inner").add(LinearFlow("innermost").add(deep))
    engine = load(LinearFlow("f", retry=Times(1, provides="attempt")).add(inner))
    engine.run()
    assert deep.received == [{"attempt": 1}]


# -- several retry flows side by side ---------------------------------------------------------------


def test_sibling_retry_flows_retry_independently(step, calls):
    first = LinearFlow("first", retry=Times(2)).add(step("a", fail=1))
    second = LinearFlow("second", retry=Times(3)).add(step("b", fail=2))
    engine = load(UnorderedFlow("top").add(first, second, step("c")))
    engine.run()
    assert sorted(_executed(calls)) == ["a", "a", "b", "b", "b", "c"]
    assert sorted(_reverted(calls)) == ["a", "b", "b"]
    assert engine.storage.get_flow_state() == states.SUCCESS


def test_flow_reverted_by_its_retry_ends_the_run_reverted_even_if_a_sibling_retry_succeeds(step, calls):
    retried = LinearFlow("retried", retry=Times(2)).add(step("a", fail=1))
    given_up = LinearFlow("given_up", retry=AlwaysRevert(name="r")).add(step("b", fail=True))
    engine = load(UnorderedFlow("top").add(retried, given_up, step("c")))
    with pytest.raises(RuntimeError, match=r"^b failed$"):
        engine.run()
    assert sorted(_executed(calls)) == ["a", "a", "b", "c"]
    assert _states(engine, ["retried_retry", "a", "r", "b", "c"]) == {
        "retried_retry": states.SUCCESS,
        "a": states.SUCCESS,
        "r": states.REVERTED,
        "b": states.REVERTED,
        "c": states.SUCCESS,
    }
    assert engine.storage.get_flow_state() == states.REVERTED


def test_atoms_finishing_while_a_failure_is_handled_still_release_their_successors(step, calls):
    # The serial engine starts a and c3 together; c3 finishes after a failed, and c4
    # must still run once the retry has run its flow again.
    retried = LinearFlow("retried", retry=Times(2)).add(step("x"), step("a", fail=1))
    chain = LinearFlow("chain").add(step("c1"), step("c2"), step("c3"), step("c4"))
    engine = load(UnorderedFlow("top").add(retried, chain))
    engine.run()
    assert sorted(_executed(calls)) == ["a", "a", "c1", "c2", "c3", "c4", "x", "x"]
    assert engine.storage.get_atom_state("c4") == states.SUCCESS
    assert engine.storage.get_flow_state() == states.SUCCESS


def test_atom_after_a_retried_flow_waits_for_every_atom_of_the_new_attempt(step, calls):
    # x succeeds on both attempts; d must wait for y2 of the second attempt too.
    retried = UnorderedFlow("u", retry=Times(2)).add(
        step("x"), LinearFlow("y").add(step("y1", fail=1), step("y2"))
    )
    engine = load(LinearFlow("top").add(retried, step("d")))
    engine.run()
    executed = _executed(calls)
    assert executed[-1] == "d"
    assert executed.count("y2") == 1 and executed.count("d") == 1
