"""Waiting on ``concurrent.futures.Future`` objects from any executor, on any hub.

``concurrent.futures.wait`` blocks the OS thread and futurist's waiters refuse
to mix green and non-green futures. Here every hub waits the same way: a
:class:`_HubWaiter` is installed on each pending future, exactly as
``concurrent.futures.wait`` installs its own waiter (the ``_waiters`` list and
``_condition`` lock that every ``Future`` has had since Python 3.2), and it
pokes a hub-specific :class:`Wakeup` that may be poked from any OS thread. A
waiter, rather than ``add_done_callback``, is used because callbacks cannot be
removed: an engine waits on the same pending futures many times, and each wait
would leave one more callback behind.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future
from concurrent.futures._base import _Waiter
from typing import TYPE_CHECKING, Any, ClassVar

from greenflow.hubs._base import Wakeup

if TYPE_CHECKING:
    pass

__all__ = ["BaseHub", "Wakeup", "wait_for_futures"]


class _HubWaiter(_Waiter):
    """Installed in ``Future._waiters``; the future calls it when it finishes or is cancelled."""

    def __init__(self, wakeup: Wakeup) -> None:
        # The base class's own threading.Event and result list are not used:
        # completion is read from the futures themselves.
        self._wakeup = wakeup

    def add_result(self, future: Future[Any]) -> None:
        self._wakeup.notify()

    def add_exception(self, future: Future[Any]) -> None:
        self._wakeup.notify()

    def add_cancelled(self, future: Future[Any]) -> None:
        self._wakeup.notify()


def wait_for_futures(
    futures: Iterable[Future[Any]],
    timeout: float | None,
    *,
    wait_all: bool,
    new_wakeup: Callable[[], Wakeup],
) -> tuple[set[Future[Any]], set[Future[Any]]]:
    """Wait for any (or every) future to be done; return ``(done, not_done)``.

    A future counts as done once ``Future.done()`` is true. As with
    ``concurrent.futures.wait``, a future cancelled while we wait wakes us when
    its executor acknowledges the cancellation.
    """
    pending = set(futures)
    done = {f for f in pending if f.done()}
    pending -= done
    if not pending or (done and not wait_all) or (timeout is not None and timeout <= 0):
        return done, pending
    deadline = None if timeout is None else time.monotonic() + timeout
    wakeup = new_wakeup()
    waiter = _HubWaiter(wakeup)
    installed: list[Future[Any]] = []
    try:
        for f in pending:
            with f._condition:
                f._waiters.append(waiter)
            installed.append(f)
        while True:
            finished = {f for f in pending if f.done()}
            done |= finished
            pending -= finished
            if not pending or (done and not wait_all):
                break
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                break
            wakeup.wait(remaining)
    finally:
        for f in installed:
            with f._condition:
                f._waiters.remove(waiter)
        wakeup.close()
    return done, pending


class BaseHub:
    """What the three hubs share: the clock, the waits on futures and the executor factory.

    Subclasses provide :meth:`new_wakeup`, the only hub-specific part of waiting.
    """

    name: ClassVar[str] = ""
    is_green: ClassVar[bool] = False

    def monotonic(self) -> float:
        """Return :func:`time.monotonic` (no library patches it)."""
        return time.monotonic()

    def new_wakeup(self) -> Wakeup:
        """Return a doorbell one green or OS thread waits on and any OS thread may ring."""
        raise NotImplementedError

    def wait_for_any(
        self, futures: Iterable[Future[Any]], timeout: float | None = None
    ) -> tuple[set[Future[Any]], set[Future[Any]]]:
        """Wait until at least one future is done; return ``(done, not_done)``."""
        return wait_for_futures(futures, timeout, wait_all=False, new_wakeup=self.new_wakeup)

    def wait_for_all(
        self, futures: Iterable[Future[Any]], timeout: float | None = None
    ) -> tuple[set[Future[Any]], set[Future[Any]]]:
        """Wait until every future is done or ``timeout`` passed; return ``(done, not_done)``."""
        return wait_for_futures(futures, timeout, wait_all=True, new_wakeup=self.new_wakeup)
