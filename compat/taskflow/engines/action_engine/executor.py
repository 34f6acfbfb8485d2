"""``taskflow.engines.action_engine.executor``: TaskFlow's names of its task executor kinds.

greenflow's engine picks its executor from ``executor=``; these classes exist so
code that checks or names TaskFlow's kinds keeps importing.
"""

from __future__ import annotations

__all__ = [
    "ParallelGreenThreadTaskExecutor",
    "ParallelProcessTaskExecutor",
    "ParallelTaskExecutor",
    "ParallelThreadTaskExecutor",
    "SerialTaskExecutor",
    "TaskExecutor",
]


class TaskExecutor:
    """Base of TaskFlow's task executor kinds."""


class SerialTaskExecutor(TaskExecutor):
    """Atoms run one at a time in the engine's caller."""


class ParallelTaskExecutor(TaskExecutor):
    """Atoms run at once on an executor."""


class ParallelThreadTaskExecutor(ParallelTaskExecutor):
    """On a thread pool (``executor='threaded'``)."""


class ParallelGreenThreadTaskExecutor(ParallelThreadTaskExecutor):
    """On green threads (``executor='greenthreaded'``)."""


class ParallelProcessTaskExecutor(ParallelTaskExecutor):
    """In processes (``executor='processes'``)."""
