"""Serial engine: graph flows (data-flow order, links) and link deciders."""

from __future__ import annotations

from typing import Any

import pytest

from greenflow import GraphFlow, LinearFlow, Times, load, states
from greenflow.patterns import Depth


def _states(engine: Any, names: Any) -> dict[str, str]:
    return {name: engine.storage.get_atom_state(name) for name in names}


def _executed(calls: list[tuple[str, str]]) -> list[str]:
    return [name for kind, name in calls if kind == "execute"]


def test_graph_flow_orders_atoms_by_data_flow(step, calls):
    # Added in reverse: the engine must still run each provider before its consumer.
    c = step("c", requires="y", provides="z")
    b = step("b", requires="x", provides="y")
    a = step("a", provides="x")
    engine = load(GraphFlow("g").add(c, b, a))
    engine.run()
    assert _executed(calls) == ["a", "b", "c"]
    assert engine.storage.fetch("z") == "c"


def test_graph_flow_orders_atoms_by_explicit_links(step, calls):
    a, b, c = step("a"), step("b"), step("c")
    flow = GraphFlow("g").add(a, b, c)
    flow.link(c, b)
    flow.link(b, a)
    load(flow).run()
    assert _executed(calls) == ["c", "b", "a"]


def test_graph_flow_runs_a_diamond_with_the_join_last(step, calls):
    top = step("top", provides="x")
    left = step("left", requires="x", provides="l")
    right = step("right", requires="x", provides="r")
    bottom = step("bottom", requires=("l", "r"))
    load(GraphFlow("g").add(bottom, right, left, top)).run()
    order = _executed(calls)
    assert order[0] == "top"
    assert sorted(order[1:3]) == ["left", "right"]
    assert order[3] == "bottom"
    assert bottom.received == [{"l": "left", "r": "right"}]


def test_nested_flow_in_a_graph_runs_after_what_it_requires(step, calls):
    inner = LinearFlow("inner").add(step("i1", requires="x"), step("i2"))
    engine = load(GraphFlow("g").add(inner, step("provider", provides="x")))
    engine.run()
    assert _executed(calls) == ["provider", "i1", "i2"]


# -- deciders ---------------------------------------------------------------------------------


def _chain(step: Any, depth: Any = None, decider: Any = None) -> tuple[LinearFlow, list[str]]:
    """``a -decider-> b -> c -> d`` inside a graph, followed by ``z`` in an outer linear flow."""
    a, b, c, d = step("a", value=10), step("b"), step("c"), step("d")
    graph = GraphFlow("g").add(a, b, c, d)
    graph.link(a, b, decider=decider or (lambda history: False), decider_depth=depth)
    graph.link(b, c)
    graph.link(c, d)
    return LinearFlow("outer").add(graph, step("z")), ["a", "b", "c", "d", "z"]


def test_decider_saying_no_ignores_the_target_and_everything_after_it(step, calls, listen):
    flow, names = _chain(step)
    engine = load(flow)
    events = listen(engine)
    engine.run()
    assert _executed(calls) == ["a"]
    assert _states(engine, names) == {
        "a": states.SUCCESS,
        "b": states.IGNORE,
        "c": states.IGNORE,
        "d": states.IGNORE,
        "z": states.IGNORE,
    }
    assert events.of("b") == [states.IGNORE]
    assert engine.storage.get_flow_state() == states.SUCCESS
    assert engine.storage.get_atom_intention("b") == states.IGNORE


@pytest.mark.parametrize(
    ("depth", "executed", "ignored"),
    [
        (Depth.ATOM, ["a", "c", "d", "z"], ["b"]),
        ("neighbors", ["a", "d", "z"], ["b", "c"]),
        (Depth.FLOW, ["a", "z"], ["b", "c", "d"]),
        ("ALL", ["a"], ["b", "c", "d", "z"]),
    ],
)
def test_decider_depth_limits_what_is_ignored(step, calls, depth, executed, ignored):
    flow, names = _chain(step, depth=depth)
    engine = load(flow)
    engine.run()
    assert _executed(calls) == executed
    assert _states(engine, names) == {n: states.IGNORE if n in ignored else states.SUCCESS for n in names}


def test_decider_receives_the_results_of_the_link_source(step, calls):
    seen: list[dict[str, Any]] = []

    def decider(history: dict[str, Any]) -> bool:
        seen.append(dict(history))
        return True

    flow, names = _chain(step, decider=decider)
    engine = load(flow)
    engine.run()
    assert seen == [{"a": 10}]
    assert _executed(calls) == names
    assert _states(engine, names) == dict.fromkeys(names, states.SUCCESS)


def test_decider_on_a_nested_flow_source_receives_every_atom_result(step, calls):
    seen: list[dict[str, Any]] = []
    source = LinearFlow("source").add(step("s1", value=1), step("s2", value=2))
    target = step("target")
    graph = GraphFlow("g").add(source, target)
    graph.link(source, target, decider=lambda history: seen.append(dict(history)) or False)
    engine = load(graph)
    engine.run()
    assert seen == [{"s1": 1, "s2": 2}]
    assert engine.storage.get_atom_state("target") == states.IGNORE


@pytest.mark.parametrize(
    ("depth", "executed"),
    [
        # ``inner`` follows b but is a nested flow: FLOW and NEIGHBORS do not reach into it.
        (Depth.ATOM, ["a", "c", "i1", "i2", "d"]),
        (Depth.NEIGHBORS, ["a", "i1", "i2", "d"]),
        (Depth.FLOW, ["a", "i1", "i2"]),
        (Depth.ALL, ["a"]),
    ],
)
def test_decider_depths_flow_and_neighbors_stop_at_nested_flows(step, calls, depth, executed):
    a, b, c, d = step("a"), step("b"), step("c"), step("d")
    inner = LinearFlow("inner").add(step("i1"), step("i2"))
    graph = GraphFlow("g").add(a, b, inner, c, d)
    graph.link(a, b, decider=lambda history: False, decider_depth=depth)
    graph.link(b, inner).link(b, c).link(c, d)
    load(graph).run()
    assert sorted(_executed(calls)) == sorted(executed)


def test_decider_at_depth_atom_on_a_link_to_a_flow_ignores_its_first_atoms_only(step, calls):
    a = step("a")
    inner = LinearFlow("inner").add(step("i1"), step("i2"))
    graph = GraphFlow("g").add(a, inner)
    graph.link(a, inner, decider=lambda history: False, decider_depth=Depth.ATOM)
    engine = load(graph)
    engine.run()
    assert _executed(calls) == ["a", "i2"]
    assert _states(engine, ["i1", "i2"]) == {"i1": states.IGNORE, "i2": states.SUCCESS}


def test_every_decider_guarding_an_atom_is_asked_and_the_widest_no_wins(step, calls):
    seen: list[dict[str, Any]] = []

    def no(history: dict[str, Any]) -> bool:
        seen.append(dict(history))
        return False

    a, b, c, d = step("a", value=1), step("b", value=2), step("c"), step("d")
    graph = GraphFlow("g").add(a, b, c, d).link(a, b).link(c, d)
    graph.link(a, c, decider=no, decider_depth=Depth.ATOM)
    graph.link(b, c, decider=no, decider_depth=Depth.ALL)
    engine = load(graph)
    engine.run()
    # Both are asked, each with the results of both sources; ALL (b's) reaches d too.
    assert seen == [{"a": 1, "b": 2}, {"a": 1, "b": 2}]
    assert _executed(calls) == ["a", "b"]
    assert _states(engine, ["c", "d"]) == {"c": states.IGNORE, "d": states.IGNORE}


def test_a_decider_whose_source_was_ignored_has_no_say(step, calls):
    asked: list[str] = []
    a, b, c = step("a"), step("b"), step("c")
    graph = GraphFlow("g").add(a, b, c)
    graph.link(a, b, decider=lambda history: False, decider_depth=Depth.ATOM)
    graph.link(b, c, decider=lambda history: asked.append("b->c") or False)
    graph.link(a, c, decider=lambda history: asked.append("a->c") or True)
    engine = load(graph)
    engine.run()
    assert asked == ["a->c"]
    assert engine.storage.get_atom_state("c") == states.SUCCESS


def test_decider_that_raises_fails_the_target_and_reverts_the_flow(step, calls):
    def decider(history: dict[str, Any]) -> bool:
        raise LookupError("no decision")

    flow, _ = _chain(step, decider=decider)
    engine = load(flow)
    with pytest.raises(LookupError, match="no decision"):
        engine.run()
    assert _executed(calls) == ["a"]
    assert [name for kind, name in calls if kind == "revert"] == ["b", "a"]
    assert engine.storage.get_flow_state() == states.REVERTED
    assert engine.storage.get_atom_state("a") == states.REVERTED


def test_ignored_atoms_are_reconsidered_when_a_retry_runs_the_flow_again(step, calls):
    # Attempt 1: the decider says no, b is ignored and tail fails; attempt 2: it says yes.
    decisions = iter([False, True])
    a, b, tail = step("a"), step("b"), step("tail", fail=1)
    graph = GraphFlow("g", retry=Times(2)).add(a, b, tail)
    graph.link(a, b, decider=lambda history: next(decisions), decider_depth=Depth.ATOM)
    graph.link(b, tail)
    engine = load(graph)
    engine.run()
    assert _executed(calls) == ["a", "tail", "a", "b", "tail"]
    assert _states(engine, ["a", "b", "tail"]) == dict.fromkeys(["a", "b", "tail"], states.SUCCESS)


def test_a_retry_withdraws_what_its_deciders_ignored_outside_its_flow(step, calls):
    # Attempt 1: the decider says no (depth ALL reaches z, after the graph) and f fails;
    # attempt 2: it says yes, so b and then z run.
    decisions = iter([False, True])
    a, b, f = step("a"), step("b"), step("f", fail=1)
    graph = GraphFlow("g", retry=Times(2)).add(a, b, f)
    graph.link(a, b, decider=lambda history: next(decisions))
    graph.link(a, f)
    engine = load(LinearFlow("top").add(graph, step("z")))
    engine.run()
    assert _states(engine, ["a", "b", "f", "z"]) == dict.fromkeys(["a", "b", "f", "z"], states.SUCCESS)
    assert _executed(calls)[-1] == "z"


def test_an_atom_whose_provider_was_ignored_gets_the_symbol_from_an_earlier_provider():
    from greenflow import Task

    class AddOne(Task):
        default_provides = "x"

        def execute(self, x):  # type: ignore[no-untyped-def]
            return x + 1

    a, b, c = AddOne("a", inject={"x": 0}), AddOne("b"), AddOne("c")
    graph = GraphFlow("g").add(a, b, c, resolve_requires=False)
    graph.link(a, b, decider=lambda history: False, decider_depth=Depth.ATOM).link(b, c)
    engine = load(graph)
    engine.run()
    # b was ignored: c takes x from a (1), the nearest provider before b that ran.
    assert engine.storage.get_atom_state("b") == states.IGNORE
    assert engine.storage.fetch("x") == 2


def test_an_atom_whose_only_provider_was_ignored_still_fails_saying_so():
    from greenflow import Task
    from greenflow.exceptions import NotFoundError

    class Make(Task):
        default_provides = "x"

        def execute(self):  # type: ignore[no-untyped-def]
            return 1

    class Use(Task):
        def execute(self, x):  # type: ignore[no-untyped-def]
            return x

    start, make, use = Make("start", provides="other"), Make("make"), Use("use")
    graph = GraphFlow("g").add(start, make, use)
    graph.link(start, make, decider=lambda history: False, decider_depth=Depth.ATOM).link(start, use)
    with pytest.raises(NotFoundError, match="requires 'x' from atom 'make', which is IGNORE"):
        load(graph).run()
