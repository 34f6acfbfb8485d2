"""``taskflow.engines.action_engine.executor``: TaskFlow's names of its task executor kinds.

greenflow's engine picks its executor from ``executor=``; these classes exist so
code that checks or names TaskFlow's kinds keeps importing, and so that a loaded
engine's ``_task_executor`` says which kind it runs atoms on (``kind_of``).
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "ParallelGreenThreadTaskExecutor",
    "ParallelProcessTaskExecutor",
    "ParallelTaskExecutor",
    "ParallelThreadTaskExecutor",
    "SerialTaskExecutor",
    "TaskExecutor",
    "kind_of",
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


def kind_of(engine: str, executor: Any) -> TaskExecutor:
    """The kind of task executor TaskFlow would run ``engine`` (greenflow's name) on with ``executor``.

    ``executor`` is greenflow's ``executor`` option: ``None`` (TaskFlow's default, threads),
    a name (``'greenthread'``, ``'thread'``, ``'process'``, ``'synchronous'``) or an executor.
    """
    if engine == "serial" or executor == "synchronous":
        return SerialTaskExecutor()
    if executor is None or executor == "thread":
        return ParallelThreadTaskExecutor()
    if executor == "greenthread":
        return ParallelGreenThreadTaskExecutor()
    if executor == "process":
        return ParallelProcessTaskExecutor()
    names = {cls.__name__ for cls in type(executor).__mro__}
    if "GreenThreadPoolExecutor" in names or "GreenExecutor" in names:
        return ParallelGreenThreadTaskExecutor()
    if "ProcessPoolExecutor" in names or "ProcessExecutor" in names:
        return ParallelProcessTaskExecutor()
    return ParallelThreadTaskExecutor()
