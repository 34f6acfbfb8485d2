"""Atoms: the units a flow is made of (tasks, retries), their retry decisions, and how one is called.

``invoke_atom`` (with ``Action`` and ``AtomOutcome``) is how every layer that
runs atoms calls one: the engine inline, executors, remote workers.
"""

from greenflow.atoms._atom import Atom
from greenflow.atoms._invoke import (
    Action,
    ActionKind,
    AtomOutcome,
    ProgressSink,
    invoke_atom,
    invoke_collecting_progress,
)
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
    "Action",
    "ActionKind",
    "AlwaysRevert",
    "AlwaysRevertAll",
    "Atom",
    "AtomOutcome",
    "Decision",
    "ForEach",
    "FunctorTask",
    "History",
    "MapFunctorTask",
    "ParameterizedForEach",
    "ProgressSink",
    "ReduceFunctorTask",
    "Retry",
    "Task",
    "Times",
    "invoke_atom",
    "invoke_collecting_progress",
    "progress_sink",
]
