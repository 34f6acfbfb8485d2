"""``taskflow.patterns.unordered_flow.Flow``: greenflow's ``UnorderedFlow``, with TaskFlow's spellings."""

from greenflow.patterns import UnorderedFlow
from taskflow.flow import TaskFlowSpelling

__all__ = ["Flow"]


class Flow(TaskFlowSpelling, UnorderedFlow):
    """An unordered flow: its items run in any order (at once on a parallel engine)."""
