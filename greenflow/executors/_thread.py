"""The thread executor: a pool of OS threads (green threads in a patched process)."""

from __future__ import annotations

import concurrent.futures
from collections.abc import Callable
from concurrent.futures import Future
from typing import ParamSpec, TypeVar

from greenflow.exceptions import ExecutorShutdownError
from greenflow.executors._base import callable_name

__all__ = ["ThreadExecutor"]

P = ParamSpec("P")
T = TypeVar("T")


class ThreadExecutor(concurrent.futures.ThreadPoolExecutor):
    """A :class:`concurrent.futures.ThreadPoolExecutor` whose threads are named ``greenflow-thread-N``.

    ``max_workers=None`` means the standard library's default
    (``min(32, os.cpu_count() + 4)``). Threads are started on demand and
    live until ``shutdown()``.
    """

    def __init__(
        self,
        max_workers: int | None = None,
        *,
        thread_name_prefix: str = "greenflow-thread",
    ) -> None:
        super().__init__(max_workers=max_workers, thread_name_prefix=thread_name_prefix)

    @property
    def max_workers(self) -> int:
        """The most threads this executor runs at once."""
        return self._max_workers

    def submit(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> Future[T]:
        """Schedule ``fn(*args, **kwargs)`` on a pool thread and return its future."""
        try:
            return super().submit(fn, *args, **kwargs)
        except RuntimeError as exc:
            if isinstance(exc, concurrent.futures.BrokenExecutor):
                raise
            raise ExecutorShutdownError(
                f"cannot submit {callable_name(fn)!r}: the ThreadExecutor was shut down ({exc})"
            ) from exc
