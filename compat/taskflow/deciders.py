"""``taskflow.deciders``: how far a graph-flow decider's "no" reaches (greenflow's ``Depth``)."""

from greenflow.patterns import Depth

__all__ = ["Depth"]
