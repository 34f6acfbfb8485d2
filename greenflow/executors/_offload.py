"""``OffloadExecutor``: real OS threads for blocking or CPU-bound task bodies, even under a green hub.

Under gevent or eventlet every "thread" the program starts is a green thread
(``threading`` is patched), so a task that computes for a long time or calls
a C library that blocks stalls every engine on the hub. This executor runs
each call in the hub's own pool of native threads (gevent's ``threadpool``,
eventlet's ``tpool``) and only the submitting green thread waits for it. On
the threading hub it is a plain thread pool.
"""

from __future__ import annotations

import concurrent.futures
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, ParamSpec, TypeVar

from greenflow.exceptions import ExecutorShutdownError
from greenflow.executors._base import callable_name
from greenflow.executors._thread import ThreadExecutor
from greenflow.hubs import Hub, resolve_hub

__all__ = ["OffloadExecutor"]

P = ParamSpec("P")
T = TypeVar("T")


class OffloadExecutor(concurrent.futures.Executor):
    """Runs submitted calls on native OS threads; on a green hub, through the hub's thread pool.

    The pool size on a green hub is the hub's (gevent: ``GEVENT_THREADPOOL_SIZE``,
    default 10; eventlet: ``EVENTLET_THREADPOOL_SIZE``, default 20);
    ``max_workers`` sizes the pool on the threading hub. The future is
    completed in a green thread of the submitting OS thread, never from the
    native thread (eventlet's locks are not safe across OS threads).
    """

    def __init__(self, max_workers: int | None = None, hub: Hub | str | None = None) -> None:
        self._hub = resolve_hub(hub)
        self._threads = None if self._hub.is_green else ThreadExecutor(max_workers)
        self._shut_down = False

    def submit(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> Future[T]:
        """Schedule ``fn(*args, **kwargs)`` on a native thread and return its future."""
        if self._shut_down:
            raise ExecutorShutdownError(
                f"cannot submit {callable_name(fn)!r}: the OffloadExecutor was shut down"
            )
        if self._threads is not None:
            return self._threads.submit(fn, *args, **kwargs)
        future: Future[T] = Future()
        self._hub.spawn_raw(self._run, future, fn, args, kwargs)
        return future

    def _run(self, future: Future[Any], fn: Callable[..., Any], args: Any, kwargs: Any) -> None:
        if not future.set_running_or_notify_cancel():
            return
        try:
            result = self._hub.offload(fn, *args, **kwargs)
        except BaseException as exc:
            future.set_exception(exc)
            if not isinstance(exc, Exception):
                raise
        else:
            future.set_result(result)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Refuse new calls (the hub's own pool is shared and stays up)."""
        self._shut_down = True
        if self._threads is not None:
            self._threads.shutdown(wait=wait, cancel_futures=cancel_futures)
