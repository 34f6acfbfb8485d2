"""Flow patterns: linear, unordered and graph flows, nestable in one another.

The modules ``linear_flow``, ``unordered_flow`` and ``graph_flow`` each export
``Flow`` too, for code written as ``from greenflow.patterns import linear_flow as lf``.
"""

from greenflow.patterns._flow import Flow
from greenflow.patterns._graph import Depth, GraphFlow
from greenflow.patterns._linear import LinearFlow
from greenflow.patterns._unordered import UnorderedFlow

__all__ = ["Depth", "Flow", "GraphFlow", "LinearFlow", "UnorderedFlow"]
