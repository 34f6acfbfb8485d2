"""The :class:`Executor` protocol and the one function that runs a submitted call into its future."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, ParamSpec, Protocol, TypeVar

__all__ = ["Executor", "callable_name", "run_into_future"]

P = ParamSpec("P")
T = TypeVar("T")


class Executor(Protocol):
    """What greenflow needs from an executor: the two core methods of :class:`concurrent.futures.Executor`.

    Any ``concurrent.futures`` or futurist executor fits. One executor may be
    shared by many engines; an engine shuts down only an executor it created.
    """

    def submit(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> Future[T]:
        """Schedule ``fn(*args, **kwargs)`` and return its future."""

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Refuse new work; with ``wait``, return once submitted work has finished."""


def run_into_future(
    future: Future[T],
    fn: Callable[..., T],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
) -> None:
    """Run ``fn(*args, **kwargs)`` unless ``future`` was cancelled, and store the outcome in ``future``.

    An exception that is not an :class:`Exception` (``KeyboardInterrupt``,
    ``SystemExit``, a killed greenlet's ``GreenletExit``) is stored and then
    re-raised, so the interruption still reaches the caller.
    """
    if not future.set_running_or_notify_cancel():
        return
    try:
        result = fn(*args, **kwargs)
    except BaseException as exc:
        future.set_exception(exc)
        if not isinstance(exc, Exception):
            raise
    else:
        future.set_result(result)


def callable_name(fn: object) -> str:
    """Return ``'module.qualname'`` for a function or class, else its ``repr``; for error messages."""
    qualname = getattr(fn, "__qualname__", None)
    module = getattr(fn, "__module__", None)
    if isinstance(qualname, str) and isinstance(module, str):
        return f"{module}.{qualname}"
    return repr(fn)
