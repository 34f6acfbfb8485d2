"""The synchronous executor: runs each call inline, in ``submit()``."""

from __future__ import annotations

import concurrent.futures
from collections.abc import Callable
from concurrent.futures import Future
from typing import ParamSpec, TypeVar

from greenflow.exceptions import ExecutorShutdownError
from greenflow.executors._base import callable_name, run_into_future

__all__ = ["SynchronousExecutor"]

P = ParamSpec("P")
T = TypeVar("T")


class SynchronousExecutor(concurrent.futures.Executor):
    """Runs ``fn`` inside ``submit()`` and returns a future that is already done.

    For debugging and for flows whose atoms must not overlap; the caller is
    blocked while ``fn`` runs, whatever the hub.
    """

    def __init__(self) -> None:
        self._shut_down = False

    def submit(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> Future[T]:
        """Run ``fn(*args, **kwargs)`` now; return its finished future."""
        if self._shut_down:
            raise ExecutorShutdownError(
                f"cannot submit {callable_name(fn)!r}: the SynchronousExecutor was shut down"
            )
        future: Future[T] = Future()
        run_into_future(future, fn, args, kwargs)
        return future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Refuse further submissions (nothing is ever pending)."""
        self._shut_down = True
