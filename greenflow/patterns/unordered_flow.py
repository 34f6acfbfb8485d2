"""``unordered_flow.Flow``: the unordered pattern under its TaskFlow-style module name."""

from greenflow.patterns._unordered import UnorderedFlow as Flow

__all__ = ["Flow"]
