"""``graph_flow.Flow``: the graph pattern under its TaskFlow-style module name."""

from greenflow.patterns._graph import Depth
from greenflow.patterns._graph import GraphFlow as Flow

__all__ = ["Depth", "Flow"]
