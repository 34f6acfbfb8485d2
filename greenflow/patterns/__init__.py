"""Flow patterns: linear, unordered and graph flows, nestable in one another.

TaskFlow's module names (``taskflow.patterns.linear_flow.Flow`` and friends) live
in compat/, with TaskFlow's other spellings.
"""

from greenflow.patterns._flow import Flow
from greenflow.patterns._graph import Depth, GraphFlow
from greenflow.patterns._linear import LinearFlow
from greenflow.patterns._unordered import UnorderedFlow

__all__ = ["Depth", "Flow", "GraphFlow", "LinearFlow", "UnorderedFlow"]
