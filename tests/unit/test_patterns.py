"""Flow patterns: building flows, graph links and deciders, and the input checks."""

from __future__ import annotations

import pytest

from greenflow.atoms import Task, Times
from greenflow.exceptions import InvalidOptionError
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


def test_linear_flow_links_each_item_to_the_next():
    a, b, c = T("a"), T("b"), T("c")
    flow = LinearFlow("f").add(a, b, c)
    assert [(u, v) for u, v, _ in flow.iter_links()] == [(a, b), (b, c)]


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
