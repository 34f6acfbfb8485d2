"""``linear_flow.Flow``: the linear pattern under its TaskFlow-style module name."""

from greenflow.patterns._linear import LinearFlow as Flow

__all__ = ["Flow"]
