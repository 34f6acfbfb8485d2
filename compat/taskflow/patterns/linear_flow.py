"""``taskflow.patterns.linear_flow.Flow``: greenflow's ``LinearFlow``."""

from greenflow.patterns import LinearFlow as Flow

__all__ = ["Flow"]
