"""Atoms: the units a flow is made of (tasks, retries) and their retry decisions."""

from greenflow.atoms._atom import Atom
from greenflow.atoms._retry import (
    AlwaysRevert,
    AlwaysRevertAll,
    Decision,
    ForEach,
    History,
    ParameterizedForEach,
    Retry,
    Times,
)
from greenflow.atoms._task import (
    EVENT_UPDATE_PROGRESS,
    FunctorTask,
    MapFunctorTask,
    ReduceFunctorTask,
    Task,
    progress_sink,
)

__all__ = [
    "EVENT_UPDATE_PROGRESS",
    "AlwaysRevert",
    "AlwaysRevertAll",
    "Atom",
    "Decision",
    "ForEach",
    "FunctorTask",
    "History",
    "MapFunctorTask",
    "ParameterizedForEach",
    "ReduceFunctorTask",
    "Retry",
    "Task",
    "Times",
    "progress_sink",
]
