"""``taskflow.types.graph``: TaskFlow's graph types, networkx graphs (``pip install networkx``)."""

from __future__ import annotations

import os
from typing import Any

import networkx as nx

__all__ = ["DiGraph", "OrderedDiGraph", "OrderedGraph", "merge_graphs"]


class DiGraph(nx.DiGraph):  # type: ignore[misc]
    """A directed graph with TaskFlow's helpers (``pformat``, ``freeze``, ``export_to_dot``...)."""

    def freeze(self) -> DiGraph:
        """Make the graph read-only (returns it)."""
        nx.freeze(self)
        return self

    def get_edge_data(self, u: Any, v: Any, default: Any = None) -> Any:
        """The data of edge ``u -> v`` (``default`` when absent)."""
        return self.adj.get(u, {}).get(v, default)

    def topological_sort(self) -> list[Any]:
        """The nodes in a topological order."""
        return list(nx.topological_sort(self))

    def pformat(self) -> str:
        """A multi-line text description: name, counts, nodes and edges."""
        lines = [
            f"Name: {self.name}",
            f"Type: {type(self).__name__}",
            f"Frozen: {nx.is_frozen(self)}",
            f"Density: {nx.density(self):0.3f}",
            f"Nodes: {self.number_of_nodes()}",
        ]
        lines.extend(f"  - {n}" for n in self.nodes)
        lines.append(f"Edges: {self.number_of_edges()}")
        for u, v, data in self.edges(data=True):
            lines.append(f"  {u} -> {v} ({data})" if data else f"  {u} -> {v}")
        lines.append(f"Sources: {len(list(self.no_predecessors_iter()))}")
        lines.append(f"Sinks: {len(list(self.no_successors_iter()))}")
        return os.linesep.join(lines)

    def export_to_dot(self) -> str:
        """The graph in Graphviz dot format (needs ``pydot``)."""
        return str(nx.drawing.nx_pydot.to_pydot(self).to_string())

    def is_directed_acyclic(self) -> bool:
        """Whether the graph has no cycle."""
        return bool(nx.is_directed_acyclic_graph(self))

    def no_successors_iter(self) -> Any:
        """The nodes with no successor."""
        return (n for n in self.nodes if not self.succ[n])

    def no_predecessors_iter(self) -> Any:
        """The nodes with no predecessor."""
        return (n for n in self.nodes if not self.pred[n])

    def bfs_predecessors_iter(self, n: Any) -> Any:
        """Every node reaching ``n``, nearest first."""
        seen = {n}
        frontier = list(self.predecessors(n))
        while frontier:
            nxt = []
            for p in frontier:
                if p not in seen:
                    seen.add(p)
                    yield p
                    nxt.extend(self.predecessors(p))
            frontier = nxt


OrderedDiGraph = DiGraph


class OrderedGraph(nx.Graph):  # type: ignore[misc]
    """An undirected graph (insertion-ordered, as every networkx graph is)."""


def merge_graphs(graph: nx.DiGraph, *graphs: nx.DiGraph, **kwargs: Any) -> nx.DiGraph:
    """``graph`` composed with ``graphs`` (raises ``ValueError`` on shared nodes unless allowed)."""
    allow_overlaps = kwargs.get("allow_overlaps", False)
    tmp = graph
    for other in graphs:
        if not allow_overlaps and set(tmp.nodes) & set(other.nodes):
            raise ValueError(f"Can not merge graphs: nodes overlap: {set(tmp.nodes) & set(other.nodes)}")
        tmp = nx.compose(tmp, other)
    return tmp
