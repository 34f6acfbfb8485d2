"""``taskflow.patterns.linear_flow.Flow``: greenflow's ``LinearFlow``, with TaskFlow's spellings."""

from greenflow.patterns import LinearFlow
from taskflow.flow import TaskFlowSpelling

__all__ = ["Flow"]


class Flow(TaskFlowSpelling, LinearFlow):
    """A linear flow: its items run one after another, in the order added."""
