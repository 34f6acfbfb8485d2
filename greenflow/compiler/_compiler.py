"""``FlowCompiler``: a flow becomes an immutable execution graph, validated once.

The compiled graph is a flat list of nodes (tasks, retries, and "join" nodes
that stand for the boundary between two groups of parallel atoms, so that
connecting ``n`` atoms to ``m`` atoms costs ``n + m`` edges, not ``n * m``).
Every requirement is resolved here to where its value will come from: an
earlier atom's result, a value injected into the atom, or the engine's store.

Compilation is linear in the size of the flow. A compiled graph holds no
per-run state and no atom object: it is keyed by the flow's *shape* (flow
classes and names, retries, links and deciders, and each atom's class, name,
version, requires/provides/rebind/optional arguments and which arguments it
injects), so every flow of one shape shares one graph, whoever built it. What
differs between such flows (the task instances, their injected values) is the
flow's own: ``bind_flow()`` returns the shared graph with the flow's atoms
aligned to its nodes. Both are cached on the flow object until the flow (or
any flow) changes structure.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any, Final, NamedTuple, TypeAlias

from greenflow.atoms import Atom, Retry, Task
from greenflow.exceptions import (
    AmbiguousDependencyError,
    CompilationError,
    CycleError,
    DuplicateNameError,
    InvalidOptionError,
)
from greenflow.patterns import Depth, Flow, GraphFlow, LinearFlow, UnorderedFlow
from greenflow.patterns._flow import latest_version, structure_version

__all__ = [
    "ARG_FROM_ATOM",
    "ARG_FROM_INJECT",
    "ARG_FROM_STORE",
    "JOIN",
    "RETRY",
    "TASK",
    "ArgKind",
    "BoundFlow",
    "CompiledFlow",
    "DeciderEdge",
    "FlowCompiler",
    "Node",
    "NodeKind",
    "bind_flow",
    "compile_flow",
    "flow_shape",
]


class NodeKind(IntEnum):
    """What a node of the execution graph is."""

    TASK = 0
    RETRY = 1
    JOIN = 2  # where parallel branches meet: no atom, no record


class ArgKind(IntEnum):
    """Where an argument's value comes from."""

    FROM_INJECT = 0  # the atom's own ``inject`` (``ref`` is its key there)
    FROM_ATOM = 1  # an earlier atom's result (``ref`` is its index, ``key`` the item)
    FROM_STORE = 2  # the engine's store / injected values (``ref`` is the symbol)


# Module-level names for the members: hot paths compare against them (a global, not an attribute).
TASK: Final = NodeKind.TASK
RETRY: Final = NodeKind.RETRY
JOIN: Final = NodeKind.JOIN
ARG_FROM_INJECT: Final = ArgKind.FROM_INJECT
ARG_FROM_ATOM: Final = ArgKind.FROM_ATOM
ARG_FROM_STORE: Final = ArgKind.FROM_STORE

# Connect n exits to m entries directly only while that is cheap; beyond, via a join node.
_DIRECT_EDGE_LIMIT: Final = 8

_NO_KEY: Final = None

#: How many shapes' graphs are kept for sharing (a service building flows of a
#: few shapes hits it; one naming every flow uniquely only cycles through it).
SHAPE_CACHE_SIZE: Final = 1024


class ArgSource(NamedTuple):
    """How one argument of an atom is obtained at run time.

    ``ref`` is, per ``kind``: the key of the atom's ``inject`` holding the value
    (``ARG_FROM_INJECT``: the value itself is the flow's, not the graph's), the
    providing atom's index (``ARG_FROM_ATOM``), or the symbol (``ARG_FROM_STORE``).
    """

    arg: str
    symbol: str
    kind: ArgKind
    ref: Any
    key: Any
    optional: bool


class DeciderEdge(NamedTuple):
    """A decider guarding a node: if ``decider(history)`` is false, ``ignore`` is skipped."""

    decider: Any
    depth: Depth
    sources: tuple[int, ...]  # atoms whose results form the decider's history
    ignore: tuple[int, ...]  # nodes to ignore when the decider says no


class Node:
    """One vertex of the execution graph (an atom, or a join of parallel branches).

    Built by the compiler and never changed afterwards. It holds no atom object
    (flows of one shape share it): ``bind_flow(flow).atoms[index]`` is the atom.
    """

    __slots__ = (
        "args",
        "deciders",
        "flow",
        "index",
        "kind",
        "name",
        "preds",
        "retry",
        "revert_args",
        "save_as",
        "scope",
        "succs",
        "version",
    )

    def __init__(self, index: int, name: str, kind: NodeKind, atom: Any, flow: str, retry: int) -> None:
        self.index = index
        self.name = name
        self.kind = kind
        self.flow = flow  # the innermost nested flow holding this node ("": the top-level flow)
        self.retry = retry  # the innermost retry whose scope holds this node (-1: none)
        self.preds: tuple[int, ...] = ()
        self.succs: tuple[int, ...] = ()
        self.args: tuple[ArgSource, ...] = ()
        self.revert_args: tuple[ArgSource, ...] = ()
        self.deciders: tuple[DeciderEdge, ...] = ()
        self.scope: tuple[int, ...] = ()  # retries only: every node their flow holds
        self.save_as: tuple[tuple[str, Any], ...] = tuple(atom.save_as.items()) if atom is not None else ()
        self.version: tuple[int, int] | None = atom.version if atom is not None else None

    def __repr__(self) -> str:
        return f"Node({self.index}, {self.name!r}, kind={self.kind})"


@dataclass(frozen=True, slots=True)
class CompiledFlow:
    """The immutable execution graph of a flow shape, shared by every engine of that shape.

    It has no name: flows that differ only in the top-level flow's name (a name per
    request, say) share it, and ``Node.flow`` is ``""`` for the top-level flow's nodes.
    """

    nodes: tuple[Node, ...]
    atoms: tuple[int, ...]  # indices of task and retry nodes, in compile order
    by_name: dict[str, int]
    entries: tuple[int, ...]
    store_requires: dict[str, tuple[str, ...]] = field(default_factory=dict)
    #: How many predecessors each node waits for (copied per run).
    indegrees: tuple[int, ...] = ()
    #: ``symbol -> ((atom index, item key or None), ...)`` in compile order.
    providers: dict[str, tuple[tuple[int, Any], ...]] = field(default_factory=dict)
    #: Whether a run's per-node counters (predecessors left, deciders that said no) fit in
    #: a byte: every indegree and the number of decider links are below 256.
    small_counts: bool = True

    def atom_names(self) -> list[str]:
        """The names of every task and retry, in compile order."""
        nodes = self.nodes
        return [nodes[i].name for i in self.atoms]


class _Scope:
    """A layer of visible providers: ``symbol -> [atom index, ...]`` (more than one is ambiguous)."""

    __slots__ = ("parent", "symbols")

    def __init__(self, parent: _Scope | None) -> None:
        self.parent = parent
        self.symbols: dict[str, list[tuple[int, Any]]] = {}

    def lookup(self, symbol: str) -> list[tuple[int, Any]] | None:
        scope: _Scope | None = self
        while scope is not None:
            found = scope.find(symbol)
            if found:
                return found
            scope = scope.parent
        return None

    def find(self, symbol: str) -> list[tuple[int, Any]] | None:
        """The providers of ``symbol`` in this layer alone."""
        return self.symbols.get(symbol)


_Compiled: TypeAlias = tuple[list[int], list[int], dict[str, list[tuple[int, Any]]], list[int]]


class _AncestorScope(_Scope):
    """The providers among a graph item's indirect predecessors, the nearest first, found on demand.

    Searched only for symbols some item of the graph provides, so a requirement
    met from outside the graph costs no walk.
    """

    __slots__ = ("_compiled", "_direct", "_preds", "_provided")

    def __init__(
        self,
        parent: _Scope,
        direct: list[int],
        preds: list[list[int]],
        compiled: dict[int, _Compiled],
        provided: frozenset[str],
    ) -> None:
        super().__init__(parent)
        self._direct = direct
        self._preds = preds
        self._compiled = compiled
        self._provided = provided

    def find(self, symbol: str) -> list[tuple[int, Any]] | None:
        if symbol not in self._provided:
            return None
        found = self.symbols.get(symbol)
        if found is None:
            found = self.symbols[symbol] = self._search(symbol)
        return found

    def _search(self, symbol: str) -> list[tuple[int, Any]]:
        seen = set(self._direct)  # the layer above holds what these provide
        level = self._direct
        while level:
            following: list[int] = []
            for item in level:
                for p in self._preds[item]:
                    if p not in seen:
                        seen.add(p)
                        following.append(p)
            found = [f for p in following for f in self._compiled[p][2].get(symbol, ())]
            if found:
                return found
            level = following
        return []


class FlowCompiler:
    """Compiles one flow; use ``compile_flow(flow)`` for the cached form."""

    def __init__(self, flow: Flow) -> None:
        if not isinstance(flow, Flow):
            raise InvalidOptionError(
                f"an engine runs a flow (LinearFlow, UnorderedFlow, GraphFlow), "
                f"got {type(flow).__name__} {flow!r}"
            )
        self._flow = flow
        self._nodes: list[Node] = []
        self._atoms: list[Any] = []  # aligned with _nodes (None for joins)
        self._preds: list[list[int]] = []
        self._succs: list[list[int]] = []
        self._deciders: list[list[tuple[Any, Depth, list[int], int]]] = []
        # id() of the innermost flow holding each node: decider depths FLOW and NEIGHBORS stay in it.
        self._flow_of: list[int] = []
        self._graph_ranges: dict[int, range] = {}  # id(graph flow) -> its node indices
        self._names: dict[str, int] = {}
        self._seen_atoms: set[int] = set()
        self._seen_flows: dict[int, str] = {}
        self._store_requires: dict[str, list[str]] = {}
        self._retry_stack: list[int] = []

    # -- graph building -------------------------------------------------------------------

    def _add_node(self, name: str, kind: NodeKind, atom: Any, flow: Flow) -> int:
        index = len(self._nodes)
        if kind != JOIN:
            if id(atom) in self._seen_atoms:
                raise DuplicateNameError(
                    f"atom {name!r} appears twice in flow {self._flow.name!r}; "
                    f"an atom object can be added to a flow only once"
                )
            if name in self._names:
                raise DuplicateNameError(
                    f"two atoms are named {name!r} in flow {self._flow.name!r}; atom names must be unique"
                )
            self._seen_atoms.add(id(atom))
            self._names[name] = index
        # The top-level flow's name is not the graph's: flows named apart share one graph.
        holder = "" if flow is self._flow else flow.name
        node = Node(index, name, kind, atom, holder, self._retry_stack[-1] if self._retry_stack else -1)
        self._nodes.append(node)
        self._atoms.append(atom)
        self._preds.append([])
        self._succs.append([])
        self._deciders.append([])
        self._flow_of.append(id(flow))
        return index

    def _edge(self, u: int, v: int) -> None:
        self._succs[u].append(v)
        self._preds[v].append(u)

    def _connect(self, exits: list[int], entries: list[int], flow: Flow) -> None:
        if not exits or not entries:
            return
        if len(exits) * len(entries) <= max(_DIRECT_EDGE_LIMIT, len(exits) + len(entries)):
            for u in exits:
                for v in entries:
                    self._edge(u, v)
            return
        where = "" if flow is self._flow else f"{flow.name}."
        join = self._add_node(f"{where}<join {len(self._nodes)}>", JOIN, None, flow)
        for u in exits:
            self._edge(u, join)
        for v in entries:
            self._edge(join, v)

    # -- compilation ----------------------------------------------------------------------

    def compile(self) -> CompiledFlow:
        """Build and validate the execution graph; raises a ``CompilationError`` subclass."""
        flow = self._flow
        self._compile_flow(flow, _Scope(None), [])
        nodes = self._nodes
        for node in nodes:
            i = node.index
            node.preds = tuple(self._preds[i])
            node.succs = tuple(self._succs[i])
        if self._graph_ranges:
            # Linear and unordered nesting cannot make a cycle and each graph flow is
            # checked as it is sorted; this guards their combination across levels.
            self._check_acyclic()
        for i, edges in enumerate(self._deciders):
            if edges:
                nodes[i].deciders = tuple(
                    DeciderEdge(decider, depth, tuple(sources), self._ignore_set(target, depth))
                    for decider, depth, sources, target in edges
                )
        atoms = tuple(n.index for n in nodes if n.kind != JOIN)
        return CompiledFlow(
            nodes=tuple(nodes),
            atoms=atoms,
            by_name=dict(self._names),
            entries=tuple(n.index for n in nodes if not n.preds),
            store_requires={k: tuple(v) for k, v in self._store_requires.items()},
            indegrees=tuple(len(n.preds) for n in nodes),
            providers=_providers_of(nodes, atoms),
            small_counts=max((len(n.preds) for n in nodes), default=0) < 256
            and sum(len(n.deciders) for n in nodes) < 256,
        )

    def _compile_item(
        self, item: Any, parent: Flow, scope: _Scope, graph_path: list[GraphFlow]
    ) -> tuple[list[int], list[int], dict[str, list[tuple[int, Any]]], list[int]]:
        """Compile an atom or flow; returns (entries, exits, what it provides, all its nodes)."""
        if isinstance(item, Flow):
            return self._compile_flow(item, scope, graph_path)
        if not isinstance(item, Task):
            raise CompilationError(f"flow {parent.name!r} holds {item!r}, which is neither a Task nor a flow")
        index = self._add_node(item.name, TASK, item, parent)
        self._resolve_args(index, item, scope)
        provides = {sym: [(index, key)] for sym, key in item.save_as.items()}
        return [index], [index], provides, [index]

    def _compile_flow(
        self, flow: Flow, outer: _Scope, graph_path: list[GraphFlow]
    ) -> tuple[list[int], list[int], dict[str, list[tuple[int, Any]]], list[int]]:
        if id(flow) in self._seen_flows:
            raise DuplicateNameError(
                f"flow {flow.name!r} appears twice in flow {self._flow.name!r}; "
                f"a flow object can be used only once"
            )
        self._seen_flows[id(flow)] = flow.name
        # Nodes are created depth first, so a flow's nodes are one contiguous index range.
        start = len(self._nodes)
        scope = _Scope(outer)
        retry = flow.retry
        retry_index = -1
        if retry is not None and not isinstance(retry, Retry):
            # Flow() refuses one, but ``retry`` is a plain attribute (and TaskFlow takes any atom).
            raise CompilationError(
                f"flow {flow.name!r} has {type(retry).__name__} {getattr(retry, 'name', retry)!r} as its "
                f"retry, which is not a Retry; attach a Retry (Times, ForEach, ...) or add it as an item"
            )
        if retry is not None:
            retry_index = self._add_node(retry.name, RETRY, retry, flow)
            self._resolve_args(retry_index, retry, scope)
            for sym, key in retry.save_as.items():
                scope.symbols[sym] = [(retry_index, key)]
            self._retry_stack.append(retry_index)
        try:
            if isinstance(flow, GraphFlow):
                entries, exits, provides = self._compile_graph(flow, scope, graph_path)
            elif isinstance(flow, UnorderedFlow):
                entries, exits, provides = self._compile_unordered(flow, scope, graph_path)
            elif isinstance(flow, LinearFlow):
                entries, exits, provides = self._compile_linear(flow, scope, graph_path)
            else:
                raise CompilationError(
                    f"flow {flow.name!r} is a {type(flow).__name__}, which the compiler does not know; "
                    f"subclass LinearFlow, UnorderedFlow or GraphFlow"
                )
            if retry is not None:
                self._connect([retry_index], entries, flow)
        finally:
            if retry is not None:
                self._retry_stack.pop()
        if isinstance(flow, GraphFlow):
            self._graph_ranges[id(flow)] = range(start, len(self._nodes))
        if retry is not None:
            self._nodes[retry_index].scope = tuple(range(retry_index + 1, len(self._nodes)))
            provides = {**{sym: [(retry_index, key)] for sym, key in retry.save_as.items()}, **provides}
            entries = [retry_index]
            exits = exits or [retry_index]
        return entries, exits, provides, list(range(start, len(self._nodes)))

    def _compile_linear(
        self, flow: Flow, scope: _Scope, graph_path: list[GraphFlow]
    ) -> tuple[list[int], list[int], dict[str, list[tuple[int, Any]]]]:
        entries: list[int] = []
        exits: list[int] = []
        provides: dict[str, list[tuple[int, Any]]] = {}
        for child in flow:
            c_entries, c_exits, c_provides, _ = self._compile_item(child, flow, scope, graph_path)
            if not c_entries:
                continue
            if exits:
                self._connect(exits, c_entries, flow)
            else:
                entries = c_entries
            exits = c_exits
            # Later items shadow earlier providers of the same symbol.
            scope.symbols.update(c_provides)
            provides.update(c_provides)
        return entries, exits, provides

    def _compile_unordered(
        self, flow: Flow, scope: _Scope, graph_path: list[GraphFlow]
    ) -> tuple[list[int], list[int], dict[str, list[tuple[int, Any]]]]:
        entries: list[int] = []
        exits: list[int] = []
        provides: dict[str, list[tuple[int, Any]]] = {}
        for child in flow:
            # Children never add to ``scope`` (nested flows open their own layer), so each
            # sees only what was visible before this flow, never a sibling's results.
            c_entries, c_exits, c_provides, _ = self._compile_item(child, flow, scope, graph_path)
            entries.extend(c_entries)
            exits.extend(c_exits)
            for sym, found in c_provides.items():
                provides.setdefault(sym, []).extend(found)
        return entries, exits, provides

    def _compile_graph(
        self, flow: GraphFlow, scope: _Scope, graph_path: list[GraphFlow]
    ) -> tuple[list[int], list[int], dict[str, list[tuple[int, Any]]]]:
        children = list(flow)
        position = {id(c): i for i, c in enumerate(children)}
        succs: list[dict[int, dict[str, Any]]] = [{} for _ in children]
        # The flow's links: its data links (made as items were added) and the explicit ones.
        for u, v, meta in flow.iter_links():
            succs[position[id(u)]][position[id(v)]] = meta
        # The symbols some item provides: only those can be found among indirect predecessors.
        provided = frozenset().union(*(child.provides for child in children))
        order = _toposort(flow, children, succs)
        preds: list[list[int]] = [[] for _ in children]
        for i, targets in enumerate(succs):
            for j in targets:
                preds[j].append(i)
        compiled: dict[int, tuple[list[int], list[int], dict[str, list[tuple[int, Any]]], list[int]]] = {}
        provides: dict[str, list[tuple[int, Any]]] = {}
        path = [*graph_path, flow]
        for i in order:
            child = children[i]
            # A child sees what its direct predecessors provide and, failing that, what the
            # nearest of its indirect ones do (a requirement met before it was linked).
            inner = _AncestorScope(scope, preds[i], preds, compiled, provided) if preds[i] else scope
            child_scope = _Scope(inner)
            for p in preds[i]:
                for sym, found in compiled[p][2].items():
                    child_scope.symbols.setdefault(sym, []).extend(found)
            # Several predecessors providing one symbol the child does not need is fine;
            # one it needs is caught by the ambiguity check above or by _resolve_args.
            compiled[i] = self._compile_item(child, flow, child_scope, path)
        entries: list[int] = []
        exits: list[int] = []
        # The nodes that stand for each item's end: its exits or, for an item that compiled
        # to no nodes (an empty flow), those of its predecessors, so order passes through it.
        ends: dict[int, list[int]] = {}
        for i in order:
            c_entries, c_exits, c_provides, c_nodes = compiled[i]
            before = [e for p in preds[i] for e in ends[p]]
            ends[i] = c_exits if c_nodes else before
            for j, meta in succs[i].items():
                if c_nodes:
                    self._connect(c_exits, compiled[j][0], flow)
                else:
                    for src in before:
                        for dst in compiled[j][0]:
                            if dst not in self._succs[src]:
                                self._edge(src, dst)
                decider = meta.get("decider")
                if decider is not None:
                    sources = [n for n in c_nodes if self._nodes[n].kind != JOIN]
                    # A link to a flow guards each of its first atoms (what runs after
                    # them follows from the depth, as for a link to an atom).
                    for e in compiled[j][0]:
                        self._deciders[e].append((decider, meta["decider_depth"], sources, e))
            if not before:
                entries.extend(c_entries)
            if not succs[i]:
                exits.extend(e for e in ends[i] if e not in exits)
            for sym, found in c_provides.items():
                provides.setdefault(sym, []).extend(found)
        # A symbol provided along one path by several ordered items: the last one wins.
        for sym, found in provides.items():
            if len(found) > 1:
                provides[sym] = _last_providers(found, self._succs)
        return entries, exits, provides

    # -- arguments ------------------------------------------------------------------------

    def _resolve_args(self, index: int, atom: Atom, scope: _Scope) -> None:
        node = self._nodes[index]
        args = tuple(self._resolve_mapping(atom, atom.rebind, atom.optional, scope, record=True))
        node.args = args
        revert_map = atom.revert_mapping
        if revert_map == atom.rebind and atom.revert_optional_args == atom.optional:
            node.revert_args = args
        else:
            # What only revert needs is required up front too (Atom.requires counts it).
            node.revert_args = tuple(
                self._resolve_mapping(atom, revert_map, atom.revert_optional_args, scope, record=True)
            )

    def _resolve_mapping(
        self,
        atom: Atom,
        mapping: Mapping[str, str],
        optional: frozenset[str],
        scope: _Scope,
        record: bool = False,
    ) -> Iterable[ArgSource]:
        inject = atom.inject
        for arg, symbol in mapping.items():
            is_optional = arg in optional
            if inject:
                if symbol in inject:
                    yield ArgSource(arg, symbol, ARG_FROM_INJECT, symbol, _NO_KEY, is_optional)
                    continue
                if arg in inject:
                    yield ArgSource(arg, symbol, ARG_FROM_INJECT, arg, _NO_KEY, is_optional)
                    continue
            found = scope.lookup(symbol)
            if found:
                if len(found) > 1:
                    names = ", ".join(repr(self._nodes[i].name) for i, _ in found)
                    raise AmbiguousDependencyError(
                        f"atom {atom.name!r} in flow {self._flow.name!r} requires {symbol!r}, which "
                        f"several atoms that may run before it provide: {names}; "
                        f"rebind the requirement or order the providers"
                    )
                provider, key = found[0]
                yield ArgSource(arg, symbol, ARG_FROM_ATOM, provider, key, is_optional)
                continue
            if record and not is_optional:
                needed_by = self._store_requires.setdefault(symbol, [])
                if atom.name not in needed_by:
                    needed_by.append(atom.name)
            yield ArgSource(arg, symbol, ARG_FROM_STORE, symbol, _NO_KEY, is_optional)

    # -- checks and derived sets ----------------------------------------------------------

    def _check_acyclic(self) -> None:
        # Graph-flow cycles are caught per flow; this guards the whole graph cheaply (Kahn).
        indegree = [len(p) for p in self._preds]
        ready = [i for i, d in enumerate(indegree) if d == 0]
        seen = 0
        while ready:
            u = ready.pop()
            seen += 1
            for v in self._succs[u]:
                indegree[v] -= 1
                if indegree[v] == 0:
                    ready.append(v)
        if seen != len(self._nodes):
            stuck = [n.name for n, d in zip(self._nodes, indegree, strict=True) if d and n.kind != JOIN]
            raise CycleError(f"flow {self._flow.name!r} has a cycle through atoms {stuck!r}")

    def _reachable(self, starts: Iterable[int]) -> list[int]:
        seen: set[int] = set()
        stack = list(starts)
        order: list[int] = []
        while stack:
            u = stack.pop()
            if u in seen:
                continue
            seen.add(u)
            order.append(u)
            stack.extend(self._succs[u])
        return order

    def _ignore_set(self, target: int, depth: Depth) -> tuple[int, ...]:
        """The nodes a "no" of a decider guarding ``target`` ignores, per ``depth`` (see ``Depth``)."""
        if depth is Depth.ALL:
            return tuple(sorted(self._reachable([target])))
        if depth is Depth.ATOM:
            return (target,)
        # FLOW and NEIGHBORS stay among the tasks of the target's own flow: an edge into a
        # nested flow or out of the flow ends them. Join nodes are stepped through.
        nodes, flow_of, home = self._nodes, self._flow_of, self._flow_of[target]
        chosen = {target}
        frontier = list(self._succs[target])
        while frontier:
            s = frontier.pop()
            if s in chosen or flow_of[s] != home or nodes[s].kind == RETRY:
                continue
            chosen.add(s)
            if depth is Depth.FLOW or nodes[s].kind == JOIN:
                frontier.extend(self._succs[s])
        return tuple(sorted(chosen))


def _providers_of(nodes: list[Node], atoms: tuple[int, ...]) -> dict[str, tuple[tuple[int, Any], ...]]:
    found: dict[str, list[tuple[int, Any]]] = {}
    for i in atoms:
        for symbol, key in nodes[i].save_as:
            found.setdefault(symbol, []).append((i, key))
    return {symbol: tuple(places) for symbol, places in found.items()}


def _toposort(flow: GraphFlow, children: list[Any], succs: list[dict[int, dict[str, Any]]]) -> list[int]:
    indegree = [0] * len(children)
    for targets in succs:
        for j in targets:
            indegree[j] += 1
    ready = [i for i in range(len(children)) if indegree[i] == 0]
    ready.reverse()
    order: list[int] = []
    while ready:
        i = ready.pop()
        order.append(i)
        for j in sorted(succs[i], reverse=True):
            indegree[j] -= 1
            if indegree[j] == 0:
                ready.append(j)
    if len(order) != len(children):
        # GraphFlow refuses a cycle when it is made; this guards flows that bypass it.
        stuck = [repr(children[i].name) for i in range(len(children)) if indegree[i] > 0]
        raise CycleError(f"graph flow {flow.name!r} has a cycle through {', '.join(stuck)}")
    return order


def _last_providers(found: list[tuple[int, Any]], succs: list[list[int]]) -> list[tuple[int, Any]]:
    """Drop providers that some other provider of the same symbol runs after."""
    indices = {i for i, _ in found}
    shadowed: set[int] = set()
    for i, _ in found:
        stack = list(succs[i])
        seen: set[int] = set()
        while stack:
            u = stack.pop()
            if u in seen:
                continue
            seen.add(u)
            if u in indices:
                shadowed.add(i)
                break
            stack.extend(succs[u])
    return [(i, k) for i, k in found if i not in shadowed]


#: How deep flows may nest: the compiler recurses once per level, and this keeps it far from
#: Python's recursion limit (also on a green thread's smaller stack).
MAX_NESTING_DEPTH: Final = 200


def _check_nesting(flow: Flow) -> None:
    """``CompilationError`` when flows nest deeper than ``MAX_NESTING_DEPTH`` (checked without recursion)."""
    stack: list[tuple[Flow, int]] = [(flow, 1)]
    while stack:
        current, depth = stack.pop()
        if depth > MAX_NESTING_DEPTH:
            raise CompilationError(
                f"flow {flow.name!r} nests flows more than {MAX_NESTING_DEPTH} levels deep "
                f"(flow {current.name!r} is at level {depth}); flatten the nesting"
            )
        stack.extend((sub, depth + 1) for sub in current._subflows)


Shape: TypeAlias = tuple[Any, ...]


class BoundFlow(NamedTuple):
    """A flow's shared graph and its own atoms: ``atoms[i]`` is node ``i``'s atom (``None``: a join)."""

    graph: CompiledFlow
    atoms: tuple[Any, ...]


class _Unshareable(Exception):
    """The flow has no shape key (an object in it twice, or not an atom): compile it alone."""


class _TooDeep(Exception):
    """Flows nest deeper than ``MAX_NESTING_DEPTH`` (``flow_shape`` raises the error that says where)."""


def _atom_shape(atom: Any) -> Shape:
    # Everything the compiler reads of an atom; the values of ``inject`` stay the flow's.
    if not isinstance(atom, Atom):
        raise _Unshareable
    inject = atom.inject
    return (
        type(atom),
        atom.name,
        atom.version,
        atom.save_as,
        atom.provides,
        atom.requires,
        tuple(atom.rebind.items()),
        atom.optional,
        tuple(atom.revert_mapping.items()),
        atom.revert_optional_args,
        frozenset(inject) if inject else None,
    )


def _flow_shape(flow: Flow, atoms: list[Any], seen: set[int], depth: int = 1) -> Shape:
    if id(flow) in seen:
        raise _Unshareable
    if depth > MAX_NESTING_DEPTH:
        raise _TooDeep
    seen.add(id(flow))
    retry = flow.retry
    retry_shape = None
    if retry is not None:
        retry_shape = _atom_shape(retry)
        atoms.append(retry)
    children = list(flow)
    shapes: list[Shape] = []
    for child in children:
        if isinstance(child, Flow):
            shapes.append(_flow_shape(child, atoms, seen, depth + 1))
        else:
            if id(child) in seen:
                raise _Unshareable
            seen.add(id(child))
            shapes.append(_atom_shape(child))
            atoms.append(child)
    links: tuple[Any, ...] = ()
    if isinstance(flow, GraphFlow):
        position = {id(c): i for i, c in enumerate(children)}
        # Deciders are compared by identity: a decider object is part of the graph.
        links = tuple(
            (position[id(u)], position[id(v)], tuple(sorted(meta.items())))
            for u, v, meta in flow.iter_links()
        )
    # The top-level name is left out: it is the engine's, not the graph's (see CompiledFlow).
    return (type(flow), flow.name if depth > 1 else None, retry_shape, tuple(shapes), links)


def flow_shape(flow: Flow) -> tuple[Shape | None, list[Any]]:
    """``(key, atoms)``: the flow's structural key (``None`` if it has none) and its atoms.

    Two flows with equal keys compile to the same graph. Flows nested more than
    ``MAX_NESTING_DEPTH`` deep raise ``CompilationError`` here, while the key is made. ``atoms`` lists the
    retries and atoms in a fixed walk order (retry first, then items in order,
    depth first), the order the shared graph's atom positions refer to.
    """
    atoms: list[Any] = []
    try:
        key = _flow_shape(flow, atoms, set())
        hash(key)  # an unhashable link metadata value: no key
    except (_Unshareable, TypeError):
        return None, atoms
    except _TooDeep:
        _check_nesting(flow)
        raise AssertionError("unreachable: _check_nesting raises for a flow _flow_shape found too deep")
    return key, atoms


# shape key -> (graph, walk position of each node's atom, -1 for joins)
_GRAPHS: dict[Shape, tuple[CompiledFlow, tuple[int, ...]]] = {}


def _compile_shared(flow: Flow) -> BoundFlow:
    key, walk = flow_shape(flow)  # checks the nesting depth when it makes a key
    if key is not None:
        hit = _GRAPHS.get(key)
        if hit is not None:
            graph, positions = hit
            return BoundFlow(graph, tuple([walk[p] if p >= 0 else None for p in positions]))
    else:
        _check_nesting(flow)  # no key: the walk may have stopped before the deepest level
    compiler = FlowCompiler(flow)
    graph = compiler.compile()
    atoms = tuple(compiler._atoms)
    if key is not None:
        where = {id(atom): p for p, atom in enumerate(walk)}
        positions = tuple([where[id(atom)] if atom is not None else -1 for atom in atoms])
        if len(_GRAPHS) >= SHAPE_CACHE_SIZE:
            try:  # the oldest entry; another thread may be evicting too
                del _GRAPHS[next(iter(_GRAPHS))]
            except (KeyError, RuntimeError, StopIteration):
                pass
        _GRAPHS[key] = (graph, positions)
    return BoundFlow(graph, atoms)


def bind_flow(flow: Flow) -> BoundFlow:
    """The shared graph of ``flow``'s shape and ``flow``'s own atoms, cached on the flow.

    The cache is checked in O(1) while no flow anywhere has changed since it
    was filled, and in O(nested flows) otherwise; a flow compiled for the
    first time costs a walk over its atoms when a flow of its shape was
    compiled before, a compilation otherwise.
    """
    if not isinstance(flow, Flow):
        FlowCompiler(flow)  # raises the error saying what an engine runs
    cached = flow.compile_cache
    latest = latest_version()
    if cached is not None:
        seen_latest, version, bound = cached
        if seen_latest == latest:
            return bound  # type: ignore[no-any-return]
        current = structure_version(flow)
        if current == version:
            flow.compile_cache = (latest, version, bound)
            return bound  # type: ignore[no-any-return]
    else:
        current = structure_version(flow)
    bound = _compile_shared(flow)
    flow.compile_cache = (latest, current, bound)
    return bound


def compile_flow(flow: Flow) -> CompiledFlow:
    """The execution graph of ``flow`` (shared by every flow of its shape; see ``bind_flow``)."""
    return bind_flow(flow).graph
