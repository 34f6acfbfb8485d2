"""``taskflow.task``: tasks, functor tasks and the progress event name (greenflow's classes)."""

import logging

from greenflow.atoms import EVENT_UPDATE_PROGRESS, FunctorTask, MapFunctorTask, ReduceFunctorTask, Task

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
