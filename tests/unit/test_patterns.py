"""Flow patterns: building flows, graph links and deciders, and the input checks."""

from __future__ import annotations

import pytest

from greenflow.atoms import Task, Times
from greenflow.exceptions import AmbiguousDependencyError, CycleError, InvalidOptionError
from greenflow.patterns import (
    Depth,
    GraphFlow,
    LinearFlow,
    UnorderedFlow,
)


class T(Task):
    def __init__(self, name, provides=None, requires=None):
        super().__init__(name, provides=provides, requires=requires)

    def execute(self, **kwargs):
        return self.name


# -- building -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("pattern", [LinearFlow, UnorderedFlow, GraphFlow])
def test_add_keeps_order_and_chains(pattern):
    a, b, c = T("a"), T("b"), T("c")
    flow = pattern("f")
    assert flow.add(a, b).add(c) is flow
    assert list(flow) == [a, b, c]
    assert len(flow) == 3


def test_flows_nest_and_iter_atoms_walks_depth_first_retries_first():
    a, b, c = T("a"), T("b"), T("c")
    retry = Times(2, name="again")
    inner = UnorderedFlow("inner", retry=retry).add(b, c)
    flow = LinearFlow("outer").add(a, inner)
    assert list(flow.iter_atoms()) == [a, retry, b, c]


def test_flow_provides_and_requires_summarise_its_atoms():
    flow = LinearFlow("f").add(T("a", provides="x", requires=["in"]), T("b", provides="y", requires=["x"]))
    assert flow.provides == {"x", "y"}
    assert flow.requires == {"in"}


def _shapes():
    def x_retry(**kw):
        return Times(2, name="r", **kw)

    return {
        "an atom requiring what it provides": LinearFlow("f").add(T("a", provides="x", requires=["x"])),
        "a later provider in a linear flow": LinearFlow("f").add(
            T("b", requires=["x"]), T("a", provides="x")
        ),
        "a sibling provider in an unordered flow": UnorderedFlow("f").add(
            T("a", provides="x"), T("b", requires=["x"])
        ),
        "a provider in a graph flow": GraphFlow("f").add(T("b", requires=["x"]), T("a", provides="x")),
        "a retry requiring what its flow provides": UnorderedFlow("f", retry=x_retry(requires=["x"])).add(
            T("a", provides="x")
        ),
        "a retry providing what its flow requires": UnorderedFlow("f", retry=x_retry(provides="x")).add(
            T("b", requires=["x"])
        ),
        "a nested unordered flow in a graph flow": GraphFlow("g").add(
            UnorderedFlow("u").add(T("a", provides="y"), T("b", requires=["x", "y"])), T("c", provides="x")
        ),
    }


@pytest.mark.parametrize(
    ("shape", "expected"),
    [
        ("an atom requiring what it provides", {"x"}),
        ("a later provider in a linear flow", {"x"}),
        ("a sibling provider in an unordered flow", {"x"}),
        ("a provider in a graph flow", set()),
        ("a retry requiring what its flow provides", {"x"}),
        ("a retry providing what its flow requires", set()),
        ("a nested unordered flow in a graph flow", {"y"}),
    ],
)
def test_flow_requires_is_what_the_compiled_flow_needs_from_outside(shape, expected):
    from greenflow.compiler import compile_flow

    flow = _shapes()[shape]
    assert flow.requires == expected
    assert set(compile_flow(flow).store_requires) == expected


def test_linear_flow_links_each_item_to_the_next_as_an_invariant():
    a, b, c = T("a"), T("b"), T("c")
    flow = LinearFlow("f").add(a, b, c)
    assert list(flow.iter_links()) == [(a, b, {"invariant": True}), (b, c, {"invariant": True})]


@pytest.mark.parametrize("pattern", [LinearFlow, UnorderedFlow, GraphFlow])
def test_a_refused_add_adds_none_of_the_items(pattern):
    a, b = T("a"), T("b")
    flow = pattern("f").add(a)
    with pytest.raises(InvalidOptionError):
        flow.add(b, 5)
    assert list(flow) == [a]
    assert b not in flow and a in flow


def test_unordered_flow_has_no_links():
    assert list(UnorderedFlow("f").add(T("a"), T("b")).iter_links()) == []


# -- bad input to a flow ------------------------------------------------------------------------------


@pytest.mark.parametrize("bad", ["", 5, None])
def test_flow_name_must_be_a_non_empty_string(bad):
    with pytest.raises(InvalidOptionError) as info:
        LinearFlow(bad)
    assert "flow name must be a non-empty string" in str(info.value)
    assert f"got {bad!r}" in str(info.value)


def test_flow_retry_must_be_a_retry():
    with pytest.raises(InvalidOptionError, match=r"flow 'f': retry must be a Retry instance, got T"):
        LinearFlow("f", retry=T("not-a-retry"))


@pytest.mark.parametrize("pattern", [LinearFlow, UnorderedFlow, GraphFlow])
@pytest.mark.parametrize("bad", [5, "task", lambda: None, T])
def test_adding_something_that_is_not_an_atom_or_flow_is_rejected(pattern, bad):
    flow = pattern("f")
    with pytest.raises(InvalidOptionError) as info:
        flow.add(bad)
    message = str(info.value)
    assert "flow 'f' can only contain atoms and flows" in message
    assert type(bad).__name__ in message
    assert len(flow) == 0


def test_adding_a_retry_as_an_atom_is_rejected_with_the_fix():
    with pytest.raises(InvalidOptionError) as info:
        LinearFlow("f").add(Times(3, name="again"))
    message = str(info.value)
    assert "retry 'again' cannot be added to flow 'f' as an atom" in message
    assert "retry=" in message


def test_adding_the_same_atom_twice_is_rejected():
    a = T("a")
    flow = LinearFlow("f").add(a)
    with pytest.raises(InvalidOptionError, match=r"atom 'a' was added to flow 'f' twice"):
        flow.add(a)


def test_adding_the_same_atom_twice_in_one_call_is_rejected():
    a = T("a")
    with pytest.raises(InvalidOptionError, match=r"atom 'a' was added to flow 'f' twice"):
        LinearFlow("f").add(a, a)


@pytest.mark.parametrize("size", [3, 15, 16, 17, 40])
def test_membership_and_duplicates_hold_for_flows_small_and_large(size):
    """Small flows check their children by scanning, large ones by a set of ids: both answer alike."""
    atoms = [T(f"t{i}") for i in range(size)]
    flow = UnorderedFlow("f")
    for atom in atoms[:-1]:
        flow.add(atom)
    assert atoms[-1] not in flow
    flow.add(atoms[-1])
    assert all(atom in flow for atom in atoms)
    assert T("t0") not in flow  # another atom of the same name is not a child
    for again in (atoms[0], atoms[size // 2], atoms[-1]):
        with pytest.raises(InvalidOptionError, match=rf"atom '{again.name}' was added to flow 'f' twice"):
            flow.add(again)
    assert list(flow) == atoms


def test_adding_the_same_flow_twice_is_rejected():
    inner = LinearFlow("inner")
    flow = UnorderedFlow("f").add(inner)
    with pytest.raises(InvalidOptionError, match=r"flow 'inner' was added to flow 'f' twice"):
        flow.add(inner)


def test_a_flow_cannot_contain_itself():
    flow = LinearFlow("f")
    with pytest.raises(InvalidOptionError, match=r"flow 'f' cannot contain itself"):
        flow.add(flow)


# -- graph links ------------------------------------------------------------------------------------


def test_link_records_an_ordering_and_chains():
    a, b = T("a"), T("b")
    flow = GraphFlow("g").add(a, b)
    assert flow.link(a, b) is flow
    assert [(u, v, meta) for u, v, meta in flow.iter_links()] == [(a, b, {"manual": True})]


def test_link_with_a_decider_defaults_to_depth_all():
    a, b = T("a"), T("b")

    def decider(history):
        return True

    flow = GraphFlow("g").add(a, b).link(a, b, decider=decider)
    ((_, _, meta),) = flow.iter_links()
    assert meta["decider"] is decider
    assert meta["decider_depth"] is Depth.ALL


@pytest.mark.parametrize(
    ("given", "expected"),
    [("atom", Depth.ATOM), ("Neighbors", Depth.NEIGHBORS), ("FLOW", Depth.FLOW), (Depth.ALL, Depth.ALL)],
)
def test_link_decider_depth_accepts_a_depth_or_its_name(given, expected):
    a, b = T("a"), T("b")
    flow = GraphFlow("g").add(a, b).link(a, b, decider=bool, decider_depth=given)
    ((_, _, meta),) = flow.iter_links()
    assert meta["decider_depth"] is expected


def test_linking_the_same_pair_again_replaces_the_link():
    a, b = T("a"), T("b")
    flow = GraphFlow("g").add(a, b).link(a, b).link(a, b, decider=bool)
    assert len(list(flow.iter_links())) == 1


def test_linking_an_item_not_in_the_graph_is_rejected():
    a, stranger = T("a"), T("stranger")
    flow = GraphFlow("g").add(a)
    with pytest.raises(
        InvalidOptionError, match=r"graph flow 'g' cannot link atom 'stranger': add it to the flow first"
    ):
        flow.link(a, stranger)
    with pytest.raises(InvalidOptionError, match=r"graph flow 'g' cannot link flow 'other'"):
        flow.link(LinearFlow("other"), a)


def test_linking_an_item_to_itself_is_rejected():
    a = T("a")
    flow = GraphFlow("g").add(a)
    with pytest.raises(InvalidOptionError, match=r"graph flow 'g': cannot link atom 'a' to itself"):
        flow.link(a, a)


def test_decider_must_be_callable():
    a, b = T("a"), T("b")
    flow = GraphFlow("g").add(a, b)
    with pytest.raises(InvalidOptionError, match=r"graph flow 'g': decider must be callable, got 'yes'"):
        flow.link(a, b, decider="yes")


def test_decider_depth_without_a_decider_is_rejected():
    a, b = T("a"), T("b")
    flow = GraphFlow("g").add(a, b)
    with pytest.raises(InvalidOptionError, match=r"graph flow 'g': decider_depth given without a decider"):
        flow.link(a, b, decider_depth="ATOM")


@pytest.mark.parametrize("bad", ["everything", 3])
def test_unknown_decider_depth_is_rejected_listing_the_choices(bad):
    a, b = T("a"), T("b")
    flow = GraphFlow("g").add(a, b)
    with pytest.raises(InvalidOptionError) as info:
        flow.link(a, b, decider=bool, decider_depth=bad)
    message = str(info.value)
    assert message.startswith("graph flow 'g': decider_depth must be one of")
    assert "['ALL', 'FLOW', 'NEIGHBORS', 'ATOM']" in message
    assert f"got {bad!r}" in message
    assert list(flow.iter_links()) == []


def test_decider_depth_false_is_rejected_not_taken_for_the_default():
    a, b = T("a"), T("b")
    flow = GraphFlow("g").add(a, b)
    with pytest.raises(InvalidOptionError, match=r"decider_depth must be one of .* got False"):
        flow.link(a, b, decider=bool, decider_depth=False)


# -- graph data links ---------------------------------------------------------------------------------


def test_graph_flow_links_items_by_data_as_they_are_added_naming_the_symbols():
    one = T("one", provides=["a", "b"])
    two = T("two", provides="c", requires=["a", "b"])
    three = T("three", requires=["c"])
    flow = GraphFlow("g").add(three).add(one, two)
    assert list(flow.iter_links()) == [(one, two, {"reasons": {"a", "b"}}), (two, three, {"reasons": {"c"}})]
    assert flow.requires == set()


def test_graph_flow_link_over_a_data_link_keeps_its_reasons():
    one, two = T("one", provides="a"), T("two", requires=["a"])
    flow = GraphFlow("g").add(one, two).link(one, two)
    assert list(flow.iter_links()) == [(one, two, {"reasons": {"a"}, "manual": True})]


def test_graph_flow_requirement_met_when_added_is_not_linked_to_a_later_provider():
    first, user, later = T("first", provides="x"), T("user", requires=["x"]), T("later", provides="x")
    flow = GraphFlow("g").add(first, user).add(later)
    assert [(u.name, v.name) for u, v, _ in flow.iter_links()] == [("first", "user")]


def test_graph_flow_two_providers_of_what_an_added_item_requires_refuse_it():
    flow = GraphFlow("g").add(T("one", provides="x"), T("two", provides="x"))
    with pytest.raises(AmbiguousDependencyError) as info:
        flow.add(T("other"), T("user", requires=["x"]))
    assert str(info.value) == (
        "atom 'user' in graph flow 'g' requires 'x', which several items provide: 'one', 'two'; "
        "rename a provided symbol or rebind the requirement"
    )
    assert [t.name for t in flow] == ["one", "two"] and list(flow.iter_links()) == []


def test_graph_flow_what_its_retry_provides_is_not_linked_to_a_sibling():
    retry = Times(2, name="again", provides="x")
    flow = GraphFlow("g", retry=retry).add(T("other", provides="x"), T("user", requires=["x"]))
    assert list(flow.iter_links()) == []
    assert flow.requires == set()


def test_graph_flow_add_without_resolving_requires_leaves_them_to_outside():
    from greenflow.compiler import compile_flow

    flow = GraphFlow("g").add(T("one", provides=["a", "b"]))
    flow.add(T("two", requires=["a", "b"]), resolve_requires=False)
    assert list(flow.iter_links()) == []
    assert flow.requires == {"a", "b"}
    assert set(compile_flow(flow).store_requires) == {"a", "b"}


def test_graph_flow_add_without_resolving_existing_does_not_serve_earlier_items():
    from greenflow.compiler import compile_flow

    flow = GraphFlow("g").add(T("one", requires=["a", "b"]))
    flow.add(T("two", provides=["a", "b"]), resolve_existing=False)
    assert list(flow.iter_links()) == []
    assert flow.requires == {"a", "b"}
    assert set(compile_flow(flow).store_requires) == {"a", "b"}
    flow.add(T("three", provides="a"))  # later adds still resolve it
    assert flow.requires == {"b"}


def test_graph_flow_link_making_a_cycle_with_a_data_link_is_refused():
    one, two = T("one", provides="a"), T("two", requires=["a"])
    flow = GraphFlow("g").add(one, two)
    with pytest.raises(CycleError, match=r"graph flow 'g' has a cycle: 'one' -> 'two' -> 'one'"):
        flow.link(two, one)
    assert [(u.name, v.name) for u, v, _ in flow.iter_links()] == [("one", "two")]


def test_graph_flow_add_closing_a_data_cycle_is_refused_and_adds_nothing():
    one = T("one", provides="a", requires=["c"])
    two = T("two", provides="b", requires=["a"])
    flow = GraphFlow("g").add(one, two)
    with pytest.raises(CycleError, match=r"graph flow 'g' has a cycle: 'three' -> 'one' -> 'two' -> 'three'"):
        flow.add(T("three", provides="c", requires=["b"]))
    assert len(flow) == 2 and len(list(flow.iter_links())) == 1


# -- graph targets ------------------------------------------------------------------------------------


def _targeted():
    one = T("one", provides="a")
    two = T("two", provides="b", requires=["a"])
    three = T("three", requires=["b"])
    four = T("four", provides="c", requires=["b"])
    return GraphFlow("g").add(one, two, three, four), (one, two, three, four)


def test_graph_flow_target_restricts_it_to_what_the_target_depends_on():
    flow, (one, two, three, four) = _targeted()
    flow.set_target(three)
    assert flow.target is three
    assert list(flow) == [one, two, three] and len(flow) == 3
    assert four in flow  # still added: links and later adds see it
    assert flow.provides == {"a", "b"}
    assert [(u.name, v.name) for u, v, _ in flow.iter_links()] == [("one", "two"), ("two", "three")]
    flow.reset_target()
    assert flow.target is None and list(flow) == [one, two, three, four]
    assert "c" in flow.provides


def test_graph_flow_target_follows_later_adds_and_links():
    lone, other = T("lone", requires=["a"]), T("other")
    flow = GraphFlow("g").add(lone, other)
    flow.set_target(lone)
    assert list(flow) == [lone]
    provider = T("provider", provides="a")
    flow.add(provider)
    assert list(flow) == [lone, provider]
    flow.link(other, lone)
    assert list(flow) == [lone, other, provider]


def test_graph_flow_target_must_be_in_the_flow():
    flow = GraphFlow("g").add(T("one"))
    with pytest.raises(
        InvalidOptionError, match=r"graph flow 'g' cannot target atom 'x': add it to the flow first"
    ):
        flow.set_target(T("x"))


def test_graph_flow_with_a_target_runs_only_what_the_target_needs():
    import greenflow

    flow, (_, _, three, _) = _targeted()
    flow.set_target(three)
    engine = greenflow.load(flow)
    engine.run()
    assert sorted(engine.storage.fetch_all()) == ["a", "b"]
    assert [a.name for a in engine.compile().nodes] == ["one", "two", "three"]


@pytest.mark.timeout(10)
def test_flows_nested_in_each_other_are_refused_at_add_naming_the_path():
    f, g, h = LinearFlow("f"), UnorderedFlow("g"), LinearFlow("h")
    f.add(g)
    g.add(h)
    with pytest.raises(InvalidOptionError) as info:
        h.add(f)
    assert "flow 'f' cannot be added to flow 'h'" in str(info.value)
    assert "'f' > 'g' > 'h'" in str(info.value)
    with pytest.raises(InvalidOptionError):
        g.add(f)
    assert list(h) == [] and list(g) == [h]


@pytest.mark.timeout(10)
def test_flows_nested_deeper_than_the_limit_fail_to_compile_with_a_clear_error():
    from greenflow.compiler import compile_flow
    from greenflow.compiler._compiler import MAX_NESTING_DEPTH
    from greenflow.exceptions import CompilationError

    flow = LinearFlow("f0").add(T("t"))
    for level in range(1, 3000):
        flow = LinearFlow(f"f{level}").add(flow)
    with pytest.raises(CompilationError) as info:
        compile_flow(flow)
    assert f"more than {MAX_NESTING_DEPTH} levels deep" in str(info.value)
    assert "flow 'f2999'" in str(info.value)


def test_a_flow_built_and_run_per_request_leaves_no_reference_cycle_behind():
    import gc

    import greenflow

    def one(i: int) -> None:
        inner = UnorderedFlow("u").add(T("b"), T("c"))
        flow = LinearFlow(f"f{i}", retry=Times(2)).add(T("a"), inner, GraphFlow("g").add(T("d")))
        greenflow.load(flow).run()

    one(-1)
    gc.collect()
    enabled = gc.isenabled()
    gc.disable()
    try:
        for i in range(20):
            one(i)
        assert gc.collect() == 0  # everything the runs made was freed by reference counting
    finally:
        if enabled:
            gc.enable()
