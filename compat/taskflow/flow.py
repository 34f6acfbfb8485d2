"""``taskflow.flow``: the flow base class and the link metadata keys."""

from greenflow.patterns import Flow

LINK_INVARIANT = "invariant"
LINK_MANUAL = "manual"
LINK_RETRY = "retry"
LINK_REASONS = "reasons"
LINK_DECIDER = "decider"
LINK_DECIDER_DEPTH = "decider_depth"

__all__ = [
    "LINK_DECIDER",
    "LINK_DECIDER_DEPTH",
    "LINK_INVARIANT",
    "LINK_MANUAL",
    "LINK_REASONS",
    "LINK_RETRY",
    "Flow",
]
