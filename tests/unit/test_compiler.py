"""The compiler: flattening, join nodes, scope-based data resolution, validation, caching."""

from __future__ import annotations

import pytest

import greenflow
from greenflow.atoms import Task, Times
from greenflow.compiler import (
    ARG_FROM_ATOM,
    ARG_FROM_INJECT,
    ARG_FROM_STORE,
    JOIN,
    RETRY,
    TASK,
    CompiledFlow,
    FlowCompiler,
    bind_flow,
    compile_flow,
)
from greenflow.exceptions import (
    AmbiguousDependencyError,
    CompilationError,
    CycleError,
    DuplicateNameError,
    InvalidOptionError,
)
from greenflow.patterns import Depth, Flow, GraphFlow, LinearFlow, UnorderedFlow


class T(Task):
    def __init__(self, name, provides=None, requires=None, **kwargs):
        super().__init__(name, provides=provides, requires=requires, **kwargs)

    def execute(self, **kwargs):
        return self.name


def names(compiled: CompiledFlow, indices) -> list[str]:
    return [compiled.nodes[i].name for i in indices]


def node(compiled: CompiledFlow, name: str):
    return compiled.nodes[compiled.by_name[name]]


def preds(compiled: CompiledFlow, name: str) -> set[str]:
    return set(names(compiled, node(compiled, name).preds))


def arg(compiled: CompiledFlow, atom: str, argument: str):
    (found,) = [a for a in node(compiled, atom).args if a.arg == argument]
    return found


def runs_before(compiled: CompiledFlow, first: str, then: str) -> bool:
    """Whether ``then`` is reachable from ``first`` (through join nodes too)."""
    stack = [compiled.by_name[first]]
    seen = set()
    target = compiled.by_name[then]
    while stack:
        i = stack.pop()
        if i == target:
            return True
        if i not in seen:
            seen.add(i)
            stack.extend(compiled.nodes[i].succs)
    return False


# -- flattening ---------------------------------------------------------------------------------------


def test_linear_flow_compiles_to_a_chain():
    compiled = compile_flow(LinearFlow("f").add(T("a"), T("b"), T("c")))
    assert compiled.atom_names() == ["a", "b", "c"]
    assert all(n.kind == TASK for n in compiled.nodes)
    assert names(compiled, compiled.entries) == ["a"]
    assert preds(compiled, "b") == {"a"}
    assert preds(compiled, "c") == {"b"}


def test_unordered_flow_compiles_to_independent_entries():
    compiled = compile_flow(UnorderedFlow("f").add(T("a"), T("b")))
    assert names(compiled, compiled.entries) == ["a", "b"]
    assert all(not n.preds and not n.succs for n in compiled.nodes)


def test_nested_flows_are_flattened_in_order():
    flow = LinearFlow("outer").add(T("a"), UnorderedFlow("fan").add(T("b"), T("c")), T("d"))
    compiled = compile_flow(flow)
    assert compiled.atom_names() == ["a", "b", "c", "d"]
    assert preds(compiled, "b") == preds(compiled, "c") == {"a"}
    assert preds(compiled, "d") == {"b", "c"}
    assert node(compiled, "b").flow == "fan"
    assert node(compiled, "a").flow == ""  # the top-level flow's name is not the graph's


def test_many_to_many_boundary_goes_through_one_join_node():
    left = UnorderedFlow("left").add(*[T(f"l{i}") for i in range(5)])
    right = UnorderedFlow("right").add(*[T(f"r{i}") for i in range(5)])
    compiled = compile_flow(LinearFlow("f").add(left, right))
    joins = [n for n in compiled.nodes if n.kind == JOIN]
    assert len(joins) == 1
    join = joins[0]
    assert names(compiled, join.preds) == [f"l{i}" for i in range(5)]
    assert names(compiled, join.succs) == [f"r{i}" for i in range(5)]
    edges = sum(len(n.succs) for n in compiled.nodes)
    assert edges == 10  # n + m, not n * m
    assert join.index not in compiled.atoms
    assert "l0" not in compiled.atom_names()[5:]


def test_small_boundaries_are_connected_directly():
    left = UnorderedFlow("left").add(T("l0"), T("l1"))
    right = UnorderedFlow("right").add(T("r0"), T("r1"))
    compiled = compile_flow(LinearFlow("f").add(left, right))
    assert not any(n.kind == JOIN for n in compiled.nodes)
    assert preds(compiled, "r0") == {"l0", "l1"}


def test_empty_flows_compile_to_nothing_and_keep_the_order_around_them():
    compiled = compile_flow(LinearFlow("f").add(T("a"), UnorderedFlow("empty"), T("b")))
    assert compiled.atom_names() == ["a", "b"]
    assert preds(compiled, "b") == {"a"}


def test_empty_flow_linked_in_a_graph_keeps_the_order_through_it():
    a, empty, b = T("a"), LinearFlow("empty"), T("b")
    flow = GraphFlow("g").add(a, empty, b).link(a, empty).link(empty, b)
    compiled = compile_flow(flow)
    assert preds(compiled, "b") == {"a"}
    assert names(compiled, compiled.entries) == ["a"]


def test_graph_items_behind_or_before_an_empty_flow_keep_their_place_in_the_outer_flow():
    empty_first, b = LinearFlow("empty_first"), T("b")
    a, empty_last = T("a"), LinearFlow("empty_last")
    first = GraphFlow("g1").add(empty_first, b).link(empty_first, b)
    last = GraphFlow("g2").add(a, empty_last).link(a, empty_last)
    compiled = compile_flow(LinearFlow("top").add(T("x"), first, T("y"), last, T("z")))
    assert preds(compiled, "b") == {"x"}
    assert preds(compiled, "y") == {"b"}
    assert preds(compiled, "a") == {"y"}
    assert preds(compiled, "z") == {"a"}


def test_link_through_an_empty_flow_beside_a_direct_link_adds_no_duplicate_edge():
    a, empty, b = T("a"), LinearFlow("empty"), T("b")
    flow = GraphFlow("g").add(a, empty, b).link(a, empty).link(empty, b).link(a, b)
    compiled = compile_flow(flow)
    assert node(compiled, "b").preds == (compiled.by_name["a"],)


# -- retries ----------------------------------------------------------------------------------------


def test_a_flow_whose_retry_is_not_a_retry_does_not_compile():
    flow = LinearFlow("f").add(T("a"))
    flow.retry = T("not-a-retry")
    with pytest.raises(CompilationError, match=r"flow 'f' has T 'not-a-retry' as its retry, which is not a"):
        compile_flow(flow)


def test_retry_is_the_entry_node_of_its_flow_with_its_scope():
    retry = Times(2, provides="attempt")
    inner = LinearFlow("inner", retry=retry).add(T("a", requires=["attempt"]), T("b"))
    compiled = compile_flow(LinearFlow("outer").add(T("before"), inner, T("after")))
    r = node(compiled, "inner_retry")
    assert r.kind == RETRY
    assert names(compiled, r.preds) == ["before"]
    assert names(compiled, r.succs) == ["a"]
    assert names(compiled, r.scope) == ["a", "b"]
    assert preds(compiled, "after") == {"b"}
    assert node(compiled, "a").retry == r.index
    assert node(compiled, "before").retry == -1
    assert node(compiled, "after").retry == -1
    assert arg(compiled, "a", "attempt").kind == ARG_FROM_ATOM
    assert arg(compiled, "a", "attempt").ref == r.index


def test_nested_retries_scope_their_own_flows():
    inner = UnorderedFlow("inner", retry=Times(2)).add(T("x"), T("y"))
    outer = LinearFlow("outer", retry=Times(3)).add(T("a"), inner)
    compiled = compile_flow(outer)
    assert names(compiled, node(compiled, "outer_retry").scope) == ["a", "inner_retry", "x", "y"]
    assert names(compiled, node(compiled, "inner_retry").scope) == ["x", "y"]
    assert node(compiled, "x").retry == compiled.by_name["inner_retry"]
    assert node(compiled, "a").retry == compiled.by_name["outer_retry"]
    assert names(compiled, compiled.entries) == ["outer_retry"]


def test_retry_of_an_empty_flow_is_its_entry_and_exit():
    compiled = compile_flow(LinearFlow("f").add(T("a"), LinearFlow("r", retry=Times(2)), T("b")))
    assert preds(compiled, "r_retry") == {"a"}
    assert preds(compiled, "b") == {"r_retry"}


# -- data resolution --------------------------------------------------------------------------------


def test_nearest_earlier_provider_wins_in_a_linear_flow():
    flow = LinearFlow("f").add(T("first", provides="x"), T("second", provides="x"), T("user", requires=["x"]))
    compiled = compile_flow(flow)
    source = arg(compiled, "user", "x")
    assert source.kind == ARG_FROM_ATOM
    assert compiled.nodes[source.ref].name == "second"


def test_inner_provider_shadows_an_outer_one():
    flow = LinearFlow("outer").add(
        T("outer_x", provides="x"),
        LinearFlow("inner").add(T("inner_x", provides="x"), T("user", requires=["x"])),
    )
    compiled = compile_flow(flow)
    assert compiled.nodes[arg(compiled, "user", "x").ref].name == "inner_x"


def test_provider_after_the_consumer_is_not_seen():
    flow = LinearFlow("f").add(T("user", requires=["x"]), T("late", provides="x"))
    compiled = compile_flow(flow)
    assert arg(compiled, "user", "x").kind == ARG_FROM_STORE
    assert compiled.store_requires == {"x": ("user",)}


def test_unordered_siblings_do_not_see_each_other():
    flow = UnorderedFlow("f").add(T("provider", provides="x"), T("user", requires=["x"]))
    compiled = compile_flow(flow)
    assert arg(compiled, "user", "x").kind == ARG_FROM_STORE
    assert compiled.store_requires == {"x": ("user",)}


def test_unordered_items_see_what_ran_before_their_flow():
    flow = LinearFlow("f").add(
        T("outer_x", provides="x"),
        UnorderedFlow("fan").add(T("sibling_x", provides="x"), T("user", requires=["x"])),
    )
    compiled = compile_flow(flow)
    assert compiled.nodes[arg(compiled, "user", "x").ref].name == "outer_x"


def test_result_item_key_is_recorded_for_list_and_set_provides():
    flow = LinearFlow("f").add(
        T("pair", provides=["ip", "port"]),
        T("keyed", provides={"host"}),
        T("user", requires=["port", "host"]),
    )
    compiled = compile_flow(flow)
    assert arg(compiled, "user", "port").key == 1
    assert arg(compiled, "user", "host").key == "host"


def test_inject_takes_precedence_over_providers():
    flow = LinearFlow("f").add(T("provider", provides="x"), T("user", requires=["x"], inject={"x": 42}))
    compiled = compile_flow(flow)
    source = arg(compiled, "user", "x")
    # The graph names the inject key; the value stays the flow's own atom's.
    assert (source.kind, source.ref) == (ARG_FROM_INJECT, "x")
    assert bind_flow(flow).atoms[compiled.by_name["user"]].inject[source.ref] == 42


def test_rebound_argument_is_resolved_by_its_symbol():
    flow = LinearFlow("f").add(
        T("provider", provides="image_id"), T("user", requires=["image"], rebind={"image": "image_id"})
    )
    compiled = compile_flow(flow)
    source = arg(compiled, "user", "image")
    assert source.symbol == "image_id"
    assert compiled.nodes[source.ref].name == "provider"


def test_optional_arguments_nothing_provides_are_not_store_requirements():
    class Optional(Task):
        def execute(self, needed, maybe=None):
            return needed

    compiled = compile_flow(LinearFlow("f").add(Optional("o")))
    assert compiled.store_requires == {"needed": ("o",)}
    assert arg(compiled, "o", "maybe").optional


def test_store_requires_lists_every_atom_needing_the_symbol():
    compiled = compile_flow(UnorderedFlow("f").add(T("a", requires=["x"]), T("b", requires=["x", "y"])))
    assert compiled.store_requires == {"x": ("a", "b"), "y": ("b",)}


# -- graph flows ------------------------------------------------------------------------------------


def test_graph_flow_orders_items_by_data_flow():
    flow = GraphFlow("g").add(
        T("user", requires=["x"], provides="y"), T("last", requires=["y"]), T("provider", provides="x")
    )
    compiled = compile_flow(flow)
    assert preds(compiled, "user") == {"provider"}
    assert preds(compiled, "last") == {"user"}
    assert names(compiled, compiled.entries) == ["provider"]
    assert compiled.nodes[arg(compiled, "user", "x").ref].name == "provider"


def test_graph_flow_orders_nested_flows_by_data_flow():
    producer = LinearFlow("producer").add(T("p", provides="x"))
    consumer = LinearFlow("consumer").add(T("c", requires=["x"]))
    compiled = compile_flow(GraphFlow("g").add(consumer, producer))
    assert preds(compiled, "c") == {"p"}


def test_graph_flow_explicit_links_order_items():
    a, b, c = T("a"), T("b"), T("c")
    compiled = compile_flow(GraphFlow("g").add(a, b, c).link(c, a).link(a, b))
    assert preds(compiled, "a") == {"c"}
    assert preds(compiled, "b") == {"a"}


def test_graph_flow_requirement_met_by_an_indirect_predecessor_is_resolved_to_it():
    # ``user`` needed ``x`` when ``provider`` came (unresolved), then got it through ``middle``.
    user, middle, provider = T("user", requires=["x"]), T("middle"), T("provider", provides="x")
    flow = GraphFlow("g").add(user, middle).link(middle, user)
    flow.add(provider, resolve_existing=False)
    flow.link(provider, middle)
    assert flow.requires == set()
    compiled = compile_flow(flow)
    assert not compiled.store_requires
    assert compiled.nodes[arg(compiled, "user", "x").ref].name == "provider"


def test_graph_flow_nearest_indirect_provider_wins():
    far, near = T("far", provides="x"), T("near", provides="x")
    hop1, hop2, user = T("hop1"), T("hop2"), T("user", requires=["x"])
    flow = GraphFlow("g").add(user, hop1, hop2).link(hop2, user).link(hop1, hop2)
    flow.add(far, near, resolve_existing=False)
    flow.link(far, hop1).link(near, hop2)
    compiled = compile_flow(flow)
    assert compiled.nodes[arg(compiled, "user", "x").ref].name == "near"


def test_graph_flow_two_siblings_providing_what_a_third_requires_is_ambiguous_when_it_is_added():
    flow = GraphFlow("g").add(T("one", provides="x"), T("two", provides="x"))
    with pytest.raises(AmbiguousDependencyError) as info:
        flow.add(T("user", requires=["x"]))
    assert len(flow) == 2
    message = str(info.value)
    assert "atom 'user' in graph flow 'g' requires 'x'" in message
    assert "'one', 'two'" in message
    assert "rebind the requirement" in message


def test_graph_flow_ordered_siblings_providing_one_symbol_are_still_ambiguous():
    # As in TaskFlow: linking the providers does not choose one for the consumer.
    one, two = T("one", provides="x"), T("two", provides="x")
    flow = GraphFlow("g").add(one, two).link(one, two)
    with pytest.raises(AmbiguousDependencyError, match="'one', 'two'"):
        flow.add(T("user", requires=["x"]))


def test_graph_flow_ambiguity_is_resolved_by_rebinding():
    flow = GraphFlow("g").add(
        T("one", provides="x"), T("two", provides="x2"), T("user", requires=["x"], rebind={"x": "x2"})
    )
    assert preds(compile_flow(flow), "user") == {"two"}


def test_graph_flow_requirement_injected_into_the_atom_is_not_ambiguous():
    flow = GraphFlow("g").add(
        T("one", provides="x"), T("two", provides="x"), T("user", requires=["x"], inject={"x": 1})
    )
    compiled = compile_flow(flow)
    assert not preds(compiled, "user")
    assert arg(compiled, "user", "x").kind == ARG_FROM_INJECT


def test_graph_flow_requirement_injected_under_the_rebound_symbol_is_not_ambiguous():
    flow = GraphFlow("g").add(
        T("one", provides="x"),
        T("two", provides="x"),
        T("user", requires=["arg"], rebind={"arg": "x"}, inject={"x": 1}),
    )
    compiled = compile_flow(flow)
    assert not preds(compiled, "user")


def test_graph_flow_link_cycle_is_named_and_refused_when_linked():
    a, b, c = T("a"), T("b"), T("c")
    flow = GraphFlow("g").add(a, b, c).link(a, b).link(b, c)
    with pytest.raises(CycleError, match=r"graph flow 'g' has a cycle: 'a' -> 'b' -> 'c' -> 'a'"):
        flow.link(c, a)
    assert [(u.name, v.name) for u, v, _ in flow.iter_links()] == [("a", "b"), ("b", "c")]


def test_graph_flow_data_cycle_is_named_and_refused_when_added():
    flow = GraphFlow("g")
    with pytest.raises(CycleError, match=r"graph flow 'g' has a cycle: 'a' -> 'b' -> 'a'"):
        flow.add(T("a", provides="x", requires=["y"]), T("b", provides="y", requires=["x"]))
    assert len(flow) == 0 and list(flow.iter_links()) == []


def test_graph_flow_cycle_is_named_when_other_items_hang_off_it():
    tail, a, b = T("tail"), T("a"), T("b")
    flow = GraphFlow("g").add(tail, a, b).link(a, tail).link(a, b)
    with pytest.raises(CycleError) as info:
        flow.link(b, a)
    message = str(info.value)
    assert "graph flow 'g' has a cycle:" in message
    assert "'a' -> 'b' -> 'a'" in message or "'b' -> 'a' -> 'b'" in message
    assert "tail" not in message


def test_decider_guards_the_link_target_with_its_sources_and_depth():
    a, b, c, d = T("a"), T("b"), T("c"), T("d")

    def decider(history):
        return False

    graph = GraphFlow("g").add(a, b, c, d).link(a, b, decider=decider, decider_depth="ATOM").link(b, c)
    compiled = compile_flow(LinearFlow("top").add(graph, T("after")))
    (edge,) = node(compiled, "b").deciders
    assert edge.decider is decider
    assert edge.depth is Depth.ATOM
    assert names(compiled, edge.sources) == ["a"]
    assert names(compiled, edge.ignore) == ["b"]
    assert not node(compiled, "c").deciders


@pytest.mark.parametrize(
    ("depth", "ignored"),
    [
        (Depth.ATOM, ["b"]),
        (Depth.NEIGHBORS, ["b", "c"]),
        (Depth.FLOW, ["b", "c", "d"]),
        (Depth.ALL, ["b", "c", "d", "after"]),
    ],
)
def test_decider_depth_chooses_what_a_no_ignores(depth, ignored):
    a, b, c, d = T("a"), T("b"), T("c"), T("d")
    graph = GraphFlow("g").add(a, b, c, d).link(a, b, decider=bool, decider_depth=depth).link(b, c).link(c, d)
    compiled = compile_flow(LinearFlow("top").add(graph, T("after")))
    (edge,) = node(compiled, "b").deciders
    assert names(compiled, edge.ignore) == ignored


# -- duplicates -------------------------------------------------------------------------------------


def test_two_atoms_with_one_name_are_rejected():
    flow = LinearFlow("top").add(T("boot"), UnorderedFlow("inner").add(T("boot")))
    with pytest.raises(DuplicateNameError, match=r"two atoms are named 'boot' in flow 'top'"):
        compile_flow(flow)


def test_retry_and_task_with_one_name_are_rejected():
    flow = LinearFlow("top", retry=Times(2, name="again")).add(T("again"))
    with pytest.raises(DuplicateNameError, match=r"two atoms are named 'again' in flow 'top'"):
        compile_flow(flow)


def test_one_atom_object_in_two_flows_is_rejected():
    shared = T("shared")
    flow = LinearFlow("top").add(LinearFlow("one").add(shared), LinearFlow("two").add(shared))
    with pytest.raises(DuplicateNameError, match=r"atom 'shared' appears twice in flow 'top'"):
        compile_flow(flow)


def test_one_flow_object_used_twice_is_rejected():
    inner = LinearFlow("inner").add(T("a"))
    flow = LinearFlow("top").add(inner, UnorderedFlow("other").add(inner))
    with pytest.raises(DuplicateNameError, match=r"flow 'inner' appears twice in flow 'top'"):
        compile_flow(flow)


# -- other bad input ----------------------------------------------------------------------------------


def test_compiling_something_that_is_not_a_flow_is_rejected():
    with pytest.raises(InvalidOptionError, match=r"got T T\(name='a'\)"):
        FlowCompiler(T("a"))


def test_loading_something_that_is_not_a_flow_is_rejected():
    with pytest.raises(InvalidOptionError) as info:
        greenflow.load(T("a"))
    assert "load() needs a flow" in str(info.value)
    assert "T(name='a')" in str(info.value)


def test_unknown_flow_subclass_is_rejected_naming_it():
    class Custom(Flow):
        pass

    with pytest.raises(CompilationError, match=r"flow 'odd' is a Custom, which the compiler does not know"):
        compile_flow(LinearFlow("top").add(Custom("odd")))


# -- caching ----------------------------------------------------------------------------------------


def test_compiled_graph_is_cached_on_the_flow():
    flow = LinearFlow("f").add(T("a"))
    assert compile_flow(flow) is compile_flow(flow)


def test_adding_to_the_flow_invalidates_the_cache():
    flow = LinearFlow("f").add(T("a"))
    first = compile_flow(flow)
    flow.add(T("b"))
    second = compile_flow(flow)
    assert second is not first
    assert second.atom_names() == ["a", "b"]


def test_adding_to_a_nested_flow_invalidates_the_outer_cache():
    inner = UnorderedFlow("inner").add(T("a"))
    flow = LinearFlow("f").add(inner)
    compile_flow(flow)
    inner.add(T("b"))
    assert compile_flow(flow).atom_names() == ["a", "b"]


def test_linking_invalidates_the_cache():
    a, b = T("a"), T("b")
    flow = GraphFlow("g").add(a, b)
    assert not preds(compile_flow(flow), "b")
    flow.link(a, b)
    assert preds(compile_flow(flow), "b") == {"a"}


def test_engines_of_one_unchanged_flow_share_the_compiled_graph():
    flow = LinearFlow("f").add(T("a"))
    assert greenflow.load(flow).compile() is greenflow.load(flow).compile()
