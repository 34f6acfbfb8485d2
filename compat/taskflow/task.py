"""``taskflow.task``: tasks, functor tasks and the progress event name (greenflow's classes)."""

from greenflow.atoms import EVENT_UPDATE_PROGRESS, FunctorTask, MapFunctorTask, ReduceFunctorTask, Task

#: The argument ``revert`` receives the execute result (or Failure) under.
REVERT_RESULT = "result"
#: The argument ``revert`` receives ``{atom name: Failure}`` under.
REVERT_FLOW_FAILURES = "flow_failures"
#: TaskFlow's older name of the base class.
BaseTask = Task

__all__ = [
    "EVENT_UPDATE_PROGRESS",
    "REVERT_FLOW_FAILURES",
    "REVERT_RESULT",
    "BaseTask",
    "FunctorTask",
    "MapFunctorTask",
    "ReduceFunctorTask",
    "Task",
]
