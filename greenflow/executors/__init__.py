"""Executors: ``concurrent.futures``-like pools that run atoms.

Built on :mod:`greenflow.hubs` and below the engines. One executor may be
shared by many engines; an engine shuts down only the executors it created
(:func:`make_executor` says which). Every executor returns
:class:`concurrent.futures.Future` objects, so one hub wait
(:meth:`greenflow.hubs.Hub.wait_for_any`) covers futures of any mix of them.

The engine-executor seam is ``Starter`` (``_starters``): an engine asks
``starter_for(executor)`` once per run and starts every atom through it, one
small starter per executor kind (green, process, any ``submit()`` executor,
or one an executor provides itself, as remote workers do).

An engine asking for green threads of its own (``executor='greenthread'``,
``max_workers=N``) gets no pool: it runs on the hub's shared green executor
with a bound of ``N`` atoms at once (``green_share``).
"""

from greenflow.exceptions import (
    ExecutorError,
    ExecutorPicklingError,
    ExecutorShutdownError,
    GreenHubRequiredError,
    InvalidExecutorError,
    UnknownExecutorError,
)
from greenflow.executors._base import Executor
from greenflow.executors._factory import (
    EXECUTOR_NAMES,
    EXECUTORS,
    default_executor_name,
    executor_problem,
    green_share,
    make_executor,
)
from greenflow.executors._green import GreenExecutor
from greenflow.executors._offload import OffloadExecutor
from greenflow.executors._process import ProcessExecutor
from greenflow.executors._shared import SHARED_GREEN_WORKERS, SHARED_THREAD_WORKERS, shared_executor
from greenflow.executors._starters import Done, FutureStarter, Starter, starter_for
from greenflow.executors._synchronous import SynchronousExecutor
from greenflow.executors._thread import ThreadExecutor

__all__ = [
    "EXECUTORS",
    "EXECUTOR_NAMES",
    "SHARED_GREEN_WORKERS",
    "SHARED_THREAD_WORKERS",
    "Done",
    "Executor",
    "ExecutorError",
    "ExecutorPicklingError",
    "ExecutorShutdownError",
    "FutureStarter",
    "GreenExecutor",
    "GreenHubRequiredError",
    "InvalidExecutorError",
    "OffloadExecutor",
    "ProcessExecutor",
    "Starter",
    "SynchronousExecutor",
    "ThreadExecutor",
    "UnknownExecutorError",
    "default_executor_name",
    "executor_problem",
    "green_share",
    "make_executor",
    "shared_executor",
    "starter_for",
]
