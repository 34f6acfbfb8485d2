"""The green executor: a bounded pool of green threads on a gevent or eventlet hub."""

from __future__ import annotations

import collections
import concurrent.futures
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, ParamSpec, TypeAlias, TypeVar

from greenflow.exceptions import ExecutorShutdownError, GreenHubRequiredError
from greenflow.executors._base import callable_name, run_into_future
from greenflow.hubs import Hub, resolve_hub, select_hub

__all__ = ["GreenExecutor"]

P = ParamSpec("P")
T = TypeVar("T")

#: ``(future, fn, args, kwargs, None)`` from ``submit``; ``(callback, fn, arg, None, tag)``
#: from ``submit_callback``.
_WorkItem: TypeAlias = "tuple[Any, Callable[..., Any], tuple[Any, ...], dict[str, Any] | None, Any]"


class GreenExecutor(concurrent.futures.Executor):
    """Runs submitted calls in at most ``max_workers`` green threads of a green hub.

    Green threads exist only while there is work: ``submit()`` starts one
    while fewer than ``max_workers`` run, otherwise it queues the call, and
    each green thread takes queued calls until none is left, then exits. So
    an idle executor holds no green thread, and a shared executor bounds the
    concurrency of every engine using it.

    ``submit()`` never blocks and must be called from the OS thread running
    the hub (as any green thread would be started).

    Raises:
        GreenHubRequiredError: the hub (given or selected) is ``threading``.
        ValueError: ``max_workers`` is smaller than 1.
    """

    def __init__(self, max_workers: int = 1000, hub: Hub | str | None = None) -> None:
        if max_workers < 1:
            raise ValueError(f"GreenExecutor max_workers must be at least 1, got {max_workers}")
        resolved = resolve_hub(hub)
        if not resolved.is_green:
            source = "given" if resolved is hub else select_hub(hub).source  # type: ignore[arg-type]
            raise GreenHubRequiredError(
                f"GreenExecutor needs a green hub (gevent or eventlet) but the hub is"
                f" {resolved.name!r} ({source}); call greenflow.hubs.patch('gevent') at the very"
                " top of your program, or use the 'thread' executor"
            )
        self._hub = resolved
        self._max_workers = max_workers
        self._pending: collections.deque[_WorkItem] = collections.deque()
        # Only touched from the hub's OS thread and never across a green switch,
        # so no lock is needed around the worker count and the queue.
        self._workers = 0
        self._idle = resolved.Event()
        self._idle.set()
        self._shut_down = False
        self._starter: Any = None  # the engines' Starter for this executor (see _starters)

    @property
    def max_workers(self) -> int:
        """The most green threads this executor runs at once."""
        return self._max_workers

    @property
    def hub(self) -> Hub:
        """The hub whose green threads run the calls."""
        return self._hub

    def submit(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> Future[T]:
        """Schedule ``fn(*args, **kwargs)`` on a green thread and return its future."""
        if self._shut_down:
            raise ExecutorShutdownError(
                f"cannot submit {callable_name(fn)!r}: the GreenExecutor was shut down"
            )
        future: Future[T] = Future()
        item: _WorkItem = (future, fn, args, kwargs, None)
        if self._workers < self._max_workers:
            self._start_worker(item)
        else:
            self._pending.append(item)
        return future

    def submit_callback(
        self, fn: Callable[[Any], T], arg: Any, callback: Callable[[Any, T], object], tag: Any
    ) -> None:
        """Run ``fn(arg)`` on a green thread, then ``callback(tag, its return value)``.

        The future-less twin of :meth:`submit`, for callers (the engine) whose
        ``fn`` never raises and who only need to hear about completion: it
        saves creating, completing and waiting on a ``Future`` per call, and
        ``tag`` (what the call was for) saves a closure per call. Same bound
        and queue as :meth:`submit`. ``callback`` runs in the green thread.
        ``fn`` takes one argument (pass a tuple and unpack it inside): a call
        with ``*args`` is a C-level call in CPython 3.11, and each one adds
        some 400 bytes to the stack every waiting green thread keeps.
        """
        if self._shut_down:
            raise ExecutorShutdownError(
                f"cannot submit {callable_name(fn)!r}: the GreenExecutor was shut down"
            )
        item: _WorkItem = (callback, fn, arg, None, tag)
        if self._workers < self._max_workers:
            self._start_worker(item)
        else:
            self._pending.append(item)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Refuse new calls; optionally cancel queued ones and wait for running ones."""
        self._shut_down = True
        if cancel_futures:
            while self._pending:
                future, _, _, kwargs, _ = self._pending.popleft()
                if kwargs is None:  # a callback item has no future to cancel
                    continue
                # Notify waiters of the cancellation now: no worker will pick the item up.
                if future.cancel():
                    future.set_running_or_notify_cancel()
        if wait:
            self._idle.wait()

    def _start_worker(self, item: _WorkItem) -> None:
        self._workers += 1
        self._idle.clear()
        # A module function, not the bound ``self._work``: one object fewer per green thread.
        self._hub.spawn_raw(_work, self, item)


def _work(executor: GreenExecutor, item: _WorkItem) -> None:
    """A green thread of ``executor``: run ``item``, then queued items until none is left."""
    pending = executor._pending
    try:
        while True:
            future, fn, args, kwargs, tag = item
            if kwargs is None:  # from submit_callback: ``future`` is the callback, ``args`` the one arg
                future(tag, fn(args))
            else:
                run_into_future(future, fn, args, kwargs)
            # Do not keep the last call's objects alive while idle or waiting.
            del future, fn, args, kwargs, tag, item
            if not pending:
                return
            item = pending.popleft()
    finally:
        executor._workers -= 1
        if pending:
            # This worker was interrupted (e.g. its greenlet was killed): replace it.
            executor._start_worker(pending.popleft())
        elif executor._workers == 0:
            executor._idle.set()
