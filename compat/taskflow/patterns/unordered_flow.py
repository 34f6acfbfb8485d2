"""``taskflow.patterns.unordered_flow.Flow``: greenflow's ``UnorderedFlow``."""

from greenflow.patterns import UnorderedFlow as Flow

__all__ = ["Flow"]
