"""``taskflow.task``: tasks, functor tasks and the progress event name (greenflow's classes).

``Task``, the base TaskFlow programs subclass, prints as TaskFlow's does (its
programs print their tasks); the functor tasks are greenflow's own.
"""

import logging

from greenflow import atoms
from greenflow.atoms import EVENT_UPDATE_PROGRESS, FunctorTask, MapFunctorTask, ReduceFunctorTask
from taskflow.atom import TaskFlowPrinting


class Task(TaskFlowPrinting, atoms.Task):
    """greenflow's ``Task``; prints as ``"name==1.0"``, as TaskFlow's does."""


#: The logger task warnings go to (greenflow's task module's: out-of-range progress).
LOG = logging.getLogger("greenflow.atoms._task")

#: The argument ``revert`` receives the execute result (or Failure) under.
REVERT_RESULT = "result"
#: The argument ``revert`` receives ``{atom name: Failure}`` under.
REVERT_FLOW_FAILURES = "flow_failures"
#: TaskFlow's older name of the base class.
BaseTask = Task

__all__ = [
    "EVENT_UPDATE_PROGRESS",
    "LOG",
    "REVERT_FLOW_FAILURES",
    "REVERT_RESULT",
    "BaseTask",
    "FunctorTask",
    "MapFunctorTask",
    "ReduceFunctorTask",
    "Task",
]
