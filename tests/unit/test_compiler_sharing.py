"""Flows of one shape share one compiled graph; flows differing in anything compiled never do.

The properties are checked on random flow specifications (hypothesis): two
flows are built from each spec independently (new atoms, new flows, different
injected values), as a service building a flow per request would.

* equal specs compile to the very same graph object, and each flow keeps its
  own atoms;
* different specs never share a graph;
* whatever was cached before, the graph a flow gets is the one a fresh,
  uncached compilation of that flow gives (node by node).
"""

from __future__ import annotations

import os
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import greenflow
from greenflow.atoms import Retry, Task, Times
from greenflow.compiler import CompiledFlow, FlowCompiler, bind_flow, compile_flow, flow_shape
from greenflow.exceptions import CompilationError, MissingDependencyError
from greenflow.patterns import GraphFlow, LinearFlow, UnorderedFlow

# Few examples in CI (the tox budget); GREENFLOW_HYPOTHESIS_EXAMPLES raises it locally.
EXAMPLES = int(os.environ.get("GREENFLOW_HYPOTHESIS_EXAMPLES", "50"))
PROPERTY = settings(
    max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None
)


class Plain(Task):
    def execute(self, **kwargs: Any) -> Any:
        return sorted(kwargs.items())


class Other(Task):
    """Same signature as ``Plain``: only the class differs."""

    def execute(self, **kwargs: Any) -> Any:
        return sorted(kwargs.items())


class Versioned(Plain):
    version = (2, 1)


class Twice(Times):
    pass


TASK_CLASSES = (Plain, Other, Versioned)
RETRY_CLASSES: tuple[type[Retry], ...] = (Times, Twice)
PATTERNS = (LinearFlow, UnorderedFlow, GraphFlow)
SYMBOLS = ("x", "y", "z")


def yes(history: dict[str, Any]) -> bool:
    return True


def no(history: dict[str, Any]) -> bool:
    return False


DECIDERS = (yes, no)
DEPTHS = ("ALL", "ATOM", "FLOW", "NEIGHBORS")

# -- specifications: hashable values saying everything the compiler reads ---------------------

task_specs = st.tuples(
    st.just("task"),
    st.sampled_from(range(len(TASK_CLASSES))),
    st.sampled_from((None, "x", "y", ("y", "z"), frozenset({"z"}))),  # provides
    st.frozensets(st.sampled_from(SYMBOLS), max_size=2),  # requires
    st.frozensets(st.tuples(st.sampled_from(("p", "q")), st.sampled_from(SYMBOLS)), max_size=1),  # rebind
    st.frozensets(st.sampled_from(("x", "q")), max_size=1),  # inject keys
)


@st.composite
def flow_specs(draw: Any, depth: int = 0) -> tuple[Any, ...]:
    pattern = draw(st.sampled_from(range(len(PATTERNS))))
    children = draw(
        st.lists(task_specs if depth >= 1 else st.one_of(task_specs, flow_specs(depth + 1)), max_size=3)
    )
    links: tuple[Any, ...] = ()
    if PATTERNS[pattern] is GraphFlow and len(children) >= 2:
        pairs = [(i, j) for i in range(len(children)) for j in range(i + 1, len(children))]
        chosen = draw(st.lists(st.sampled_from(pairs), unique=True, max_size=2))
        links = tuple(
            (i, j, draw(st.sampled_from((None, 0, 1))), draw(st.sampled_from(DEPTHS)))
            for i, j in sorted(chosen)
        )
    retry = draw(st.sampled_from((None, 0, 1)))
    name = draw(st.sampled_from(("f", "g")))
    return ("flow", pattern, name, retry, tuple(children), links)


def build(spec: tuple[Any, ...], seed: int) -> Any:
    """A new flow from ``spec``; ``seed`` varies what is not compiled (injected values)."""
    counter = iter(range(1000))

    def make(node: tuple[Any, ...]) -> Any:
        if node[0] == "task":
            _, cls, provides, requires, rebind, inject = node
            index = next(counter)
            return TASK_CLASSES[cls](
                f"t{index}",
                provides=provides,
                requires=sorted(requires) or None,
                rebind=dict(sorted(rebind)) or None,
                inject=dict.fromkeys(sorted(inject), seed * 1000 + index) or None,
            )
        _, pattern, name, retry, children, links = node
        index = next(counter)
        retry_atom = RETRY_CLASSES[retry](2, name=f"r{index}") if retry is not None else None
        flow = PATTERNS[pattern](f"{name}{index}", retry=retry_atom)
        items = [make(child) for child in children]
        flow.add(*items)
        for i, j, decider, depth in links:
            if decider is None:
                flow.link(items[i], items[j])
            else:
                flow.link(items[i], items[j], decider=DECIDERS[decider], decider_depth=depth)
        return flow

    return make(spec)


def dump(graph: CompiledFlow) -> tuple[Any, ...]:
    """Everything a compiled graph says, as comparable values."""
    nodes = tuple(
        (
            n.index,
            n.name,
            n.kind,
            n.flow,
            n.retry,
            n.preds,
            n.succs,
            n.args,
            n.revert_args,
            tuple((d.decider, d.depth, d.sources, d.ignore) for d in n.deciders),
            n.scope,
            n.save_as,
            n.version,
        )
        for n in graph.nodes
    )
    return (
        nodes,
        graph.atoms,
        sorted(graph.by_name.items()),
        graph.entries,
        sorted(graph.store_requires.items()),
        graph.indegrees,
        sorted(graph.providers.items()),
    )


def built(spec: tuple[Any, ...], seed: int) -> Any:
    """``build(spec, seed)``, or the error class building it raises (a graph flow refuses a
    cycle or an ambiguous requirement as it is built, the compiler never sees it)."""
    try:
        return build(spec, seed)
    except CompilationError as exc:
        return type(exc)


def fresh(flow: Any) -> tuple[CompiledFlow, tuple[Any, ...]] | type[Exception]:
    """An uncached compilation of ``flow``: its graph and atoms, or the error class it raises."""
    if isinstance(flow, type):
        return flow
    compiler = FlowCompiler(flow)
    try:
        graph = compiler.compile()
    except CompilationError as exc:
        return type(exc)
    return graph, tuple(compiler._atoms)


def bound(flow: Any) -> Any:
    if isinstance(flow, type):
        return flow
    try:
        return bind_flow(flow)
    except CompilationError as exc:
        return type(exc)


# -- properties -------------------------------------------------------------------------------


@PROPERTY
@given(flow_specs())
def test_flows_built_alike_share_one_graph_and_keep_their_own_atoms(spec: tuple[Any, ...]) -> None:
    first, second = built(spec, 1), built(spec, 2)
    one, two = bound(first), bound(second)
    if isinstance(one, type):  # the spec does not compile: neither flow does, with the same error
        assert two is one
        return
    assert two.graph is one.graph
    assert len(one.atoms) == len(two.atoms) == len(one.graph.nodes)
    for a, b in zip(one.atoms, two.atoms, strict=True):
        assert (a is None) == (b is None)
        if a is not None:
            assert a is not b and a.name == b.name
            assert set(a.inject) == set(b.inject)
    # Each flow's atoms are its own, in the graph's node order.
    compiled = fresh(second)
    assert not isinstance(compiled, type)
    assert two.atoms == compiled[1]


@PROPERTY
@given(flow_specs(), flow_specs())
def test_flows_differing_in_anything_compiled_never_share_a_graph(
    spec_a: tuple[Any, ...], spec_b: tuple[Any, ...]
) -> None:
    a, b = built(spec_a, 1), built(spec_b, 2)
    one, two = bound(a), bound(b)
    if isinstance(one, type) or isinstance(two, type):
        return
    # The top-level flow's name is the engine's, not the graph's: everything else is compiled.
    same = spec_a[:2] + spec_a[3:] == spec_b[:2] + spec_b[3:]
    assert (one.graph is two.graph) == same
    assert (flow_shape(a)[0] == flow_shape(b)[0]) == same


@PROPERTY
@given(st.lists(flow_specs(), min_size=1, max_size=4))
def test_a_shared_graph_is_always_the_one_a_fresh_compilation_gives(specs: list[tuple[Any, ...]]) -> None:
    # Earlier flows fill the cache; each later flow must still get exactly its own graph.
    for seed, spec in enumerate(specs):
        flow = built(spec, seed)
        got, expected = bound(flow), fresh(flow)
        if isinstance(expected, type):
            assert got is expected
            continue
        assert not isinstance(got, type)
        assert dump(got.graph) == dump(expected[0])
        assert got.atoms == expected[1]


# -- the same, spelled out for properties hypothesis might reach rarely ----------------------------


def pair(**change: Any) -> tuple[Any, Any]:
    def make(**options: Any) -> Any:
        opts = {"provides": "x", "requires": None, "rebind": None, "inject": None, **options}
        cls = opts.pop("cls", Plain)
        flow_cls = opts.pop("flow_cls", LinearFlow)
        nested_name = opts.pop("nested_name", "inner")
        name = opts.pop("name", "a")
        return flow_cls("f").add(cls(name, **opts), LinearFlow(nested_name).add(Plain("b", requires=["x"])))

    return make(), make(**change)


@pytest.mark.parametrize(
    "change",
    [
        {"cls": Other},
        {"cls": Versioned},
        {"name": "a2"},
        {"provides": "y"},
        {"provides": ["x"]},
        {"requires": ["z"]},
        {"rebind": {"p": "z"}},
        {"inject": {"q": 1}},
        {"flow_cls": UnorderedFlow},
        {"flow_cls": GraphFlow},
        {"nested_name": "g"},
    ],
    ids=lambda change: next(iter(change)),
)
def test_one_compiled_difference_gives_another_graph(change: dict[str, Any]) -> None:
    same_a, same_b = pair()
    assert compile_flow(same_a) is compile_flow(same_b)
    base, changed = pair(**change)
    assert compile_flow(base) is not compile_flow(changed)
    assert dump(compile_flow(changed)) == dump(FlowCompiler(changed).compile())


def test_flows_named_apart_at_the_top_share_one_graph_and_keep_their_own_names() -> None:
    def made(top: str) -> Any:
        return LinearFlow(top).add(
            Plain("a", provides="x"), UnorderedFlow("fan").add(Plain("b", requires=["x"]))
        )

    first, second = made("request-1"), made("request-2")
    graph = compile_flow(first)
    assert compile_flow(second) is graph
    assert dump(graph) == dump(FlowCompiler(second).compile())
    assert [n.flow for n in graph.nodes] == ["", "fan"]
    # What an engine reports names its own flow, not the one the graph was first compiled for.
    lacking = LinearFlow("request-3").add(Plain("a", provides="x"), Plain("b", requires=["y"]))
    compile_flow(LinearFlow("request-0").add(Plain("a", provides="x"), Plain("b", requires=["y"])))
    with pytest.raises(MissingDependencyError, match="request-3") as caught:
        greenflow.run(lacking)
    assert caught.value.flow == "request-3"


def test_decider_identity_and_depth_are_part_of_the_shape() -> None:
    def graph(decider: Any, depth: str) -> Any:
        a, b = Plain("a"), Plain("b")
        return GraphFlow("g").add(a, b).link(a, b, decider=decider, decider_depth=depth)

    assert compile_flow(graph(yes, "ALL")) is compile_flow(graph(yes, "ALL"))
    assert compile_flow(graph(yes, "ALL")) is not compile_flow(graph(no, "ALL"))
    assert compile_flow(graph(yes, "ALL")) is not compile_flow(graph(yes, "ATOM"))
    assert compile_flow(graph(lambda h: True, "ALL")) is not compile_flow(graph(lambda h: True, "ALL"))


def test_retry_class_and_presence_are_part_of_the_shape() -> None:
    def flow(retry: Any) -> Any:
        return LinearFlow("f", retry=retry).add(Plain("a"))

    assert compile_flow(flow(Times(2, name="r"))) is compile_flow(flow(Times(5, name="r")))
    assert compile_flow(flow(Times(2, name="r"))) is not compile_flow(flow(Twice(2, name="r")))
    assert compile_flow(flow(Times(2, name="r"))) is not compile_flow(flow(None))


def test_engines_of_one_shape_run_their_own_tasks_and_injected_values() -> None:
    class Scale(Task):
        def __init__(self, name: str, factor: int, **options: Any) -> None:
            super().__init__(name, provides=name, **options)
            self.factor = factor

        def execute(self, x: int, k: int) -> int:
            return x * self.factor + k

    def flow(factor: int, k: int) -> Any:
        return LinearFlow("f").add(Scale("s", factor, inject={"k": k}))

    engines = [greenflow.load(flow(factor, k), store={"x": 10}) for factor, k in ((2, 1), (3, 7))]
    assert engines[0].compile() is engines[1].compile()
    for engine in engines:
        engine.run()
    assert [e.storage.fetch("s") for e in engines] == [21, 37]


def test_a_flow_changed_after_compiling_gets_the_graph_of_its_new_shape() -> None:
    flow = LinearFlow("f").add(Plain("a"))
    before = compile_flow(flow)
    flow.add(Plain("b"))
    after = compile_flow(flow)
    assert after is not before
    assert after is compile_flow(LinearFlow("f").add(Plain("a"), Plain("b")))


def test_a_flow_with_an_object_twice_is_compiled_alone_and_rejected() -> None:
    shared = UnorderedFlow("empty")
    flow = LinearFlow("f").add(shared, LinearFlow("inner").add(shared))
    assert flow_shape(flow)[0] is None
    with pytest.raises(CompilationError, match="appears twice"):
        compile_flow(flow)
