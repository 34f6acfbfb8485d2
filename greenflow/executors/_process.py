"""The process executor: a pool of worker processes for CPU-bound atoms.

Everything crossing the process boundary is pickled: the callable, its
arguments, its result and its exception. The callable must be importable by
name in a fresh interpreter (a module-level function or class, or an instance
of a module-level class); lambdas, nested functions and callables defined in
``__main__`` of ``python -c`` are not. ``submit()`` pickles the callable and
the arguments first, so a mistake fails there, naming the callable, rather
than later inside the pool. An unpicklable *result* cannot be checked in
advance: it reaches the caller as the future's exception.
"""

from __future__ import annotations

import concurrent.futures
import multiprocessing
from collections.abc import Callable
from concurrent.futures import Future
from multiprocessing.context import BaseContext
from multiprocessing.reduction import ForkingPickler
from typing import ParamSpec, TypeVar

from greenflow.exceptions import ExecutorPicklingError, ExecutorShutdownError
from greenflow.executors._base import callable_name

__all__ = ["ProcessExecutor"]

P = ParamSpec("P")
T = TypeVar("T")


class ProcessExecutor(concurrent.futures.ProcessPoolExecutor):
    """A :class:`concurrent.futures.ProcessPoolExecutor` that checks picklability at ``submit()``.

    Workers are started with the ``spawn`` method by default: a fresh
    interpreter inherits neither the parent's threads and locks nor its
    gevent or eventlet hub and patching, which ``fork`` would copy mid-use.
    ``max_workers=None`` means ``os.cpu_count()``.
    """

    def __init__(self, max_workers: int | None = None, *, mp_context: BaseContext | None = None) -> None:
        super().__init__(
            max_workers=max_workers,
            mp_context=mp_context if mp_context is not None else multiprocessing.get_context("spawn"),
        )

    _max_workers: int  # Set by ProcessPoolExecutor.__init__; not in its type stubs.

    @property
    def max_workers(self) -> int:
        """The number of worker processes."""
        return self._max_workers

    def submit(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> Future[T]:
        """Check that the call can be pickled, then schedule it in a worker process.

        Raises:
            ExecutorPicklingError: ``fn`` or one of its arguments cannot be pickled.
            ExecutorShutdownError: the executor was shut down.
        """
        name = callable_name(fn)
        try:
            ForkingPickler.dumps(fn)
        except Exception as exc:
            raise ExecutorPicklingError(
                f"cannot submit {name!r} to a ProcessExecutor: the callable cannot be pickled"
                f" ({type(exc).__name__}: {exc}); use a module-level function or an instance of a"
                " module-level class, not a lambda, a nested function or a bound method of an"
                " unpicklable object"
            ) from exc
        labelled = [(f"argument {i}", value) for i, value in enumerate(args)]
        labelled += [(f"argument {key!r}", value) for key, value in kwargs.items()]
        for label, value in labelled:
            try:
                ForkingPickler.dumps(value)
            except Exception as exc:
                raise ExecutorPicklingError(
                    f"cannot submit {name!r} to a ProcessExecutor: its {label} ({value!r:.80}) cannot be"
                    f" pickled ({type(exc).__name__}: {exc}); pass plain data (or picklable objects)"
                    " to process-run calls"
                ) from exc
        try:
            return super().submit(fn, *args, **kwargs)
        except RuntimeError as exc:
            if isinstance(exc, concurrent.futures.BrokenExecutor):
                raise
            raise ExecutorShutdownError(
                f"cannot submit {name!r}: the ProcessExecutor was shut down ({exc})"
            ) from exc
