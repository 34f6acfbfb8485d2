"""Errors raised by executors and :func:`~greenflow.executors.make_executor`.

They live here until they move into :mod:`greenflow.exceptions`; all of them
derive from :class:`~greenflow.exceptions.GreenflowError`.
"""

from __future__ import annotations

import pickle

from greenflow.exceptions import GreenflowError

__all__ = [
    "ExecutorError",
    "ExecutorPicklingError",
    "ExecutorShutdownError",
    "GreenHubRequiredError",
    "InvalidExecutorError",
    "UnknownExecutorError",
]


class ExecutorError(GreenflowError):
    """Base of every executor error."""


class UnknownExecutorError(ExecutorError, ValueError):
    """Raised by ``make_executor()`` for an executor name it does not know; the message lists valid names."""


class InvalidExecutorError(ExecutorError, TypeError):
    """Raised by ``make_executor()`` for a value that is neither an executor name nor an executor object."""


class ExecutorShutdownError(ExecutorError, RuntimeError):
    """Raised by ``submit()`` of every greenflow executor after its ``shutdown()``.

    A :class:`RuntimeError`, like the error of the ``concurrent.futures`` executors.
    """


class ExecutorPicklingError(ExecutorError, pickle.PicklingError):
    """Raised by ``ProcessExecutor.submit()`` when the callable or its arguments cannot be pickled."""


class GreenHubRequiredError(ExecutorError):
    """Raised by ``GreenExecutor()`` when the hub it would run on is not green (gevent or eventlet)."""
