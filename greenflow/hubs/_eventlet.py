"""The eventlet hub: green threads on eventlet's hub, for services still on eventlet.

eventlet is deprecated by its maintainers; gevent is the primary green hub.
Importing this module imports eventlet (which warns about its deprecation) but
patches nothing; :func:`get_hub` only loads it in a process patched for eventlet.

Limit: eventlet's locks are not safe across OS threads, and after patching a
``concurrent.futures.Future`` guards its state with one. So under this hub a
future must be completed from the hub's own OS thread; to run work on a real
thread, complete the future with what :meth:`EventletHub.offload` returns
(``hub.spawn(lambda: future.set_result(hub.offload(work)))``), never from
inside the offloaded call. gevent's locks have no such limit.
"""

from __future__ import annotations

import collections
import errno
from collections.abc import Callable
from typing import Any, Final, TypeVar, cast

import eventlet
import eventlet.event
import eventlet.green.threading
import eventlet.hubs
import eventlet.lock
import eventlet.patcher
import eventlet.queue
import eventlet.semaphore
import eventlet.tpool

from greenflow.hubs import _base
from greenflow.hubs._futures import BaseHub, Wakeup
from greenflow.hubs._patching import is_patched

__all__ = ["EventletHub", "hub_class"]

R = TypeVar("R")

# The unpatched modules: after patching, os.read would trampoline instead of
# raising on an empty pipe, and _thread.get_ident would return green thread ids.
_os: Any = eventlet.patcher.original("os")
_os_thread_ident: Callable[[], int] = eventlet.patcher.original("_thread").get_ident


class _CrossThreadCalls:
    """Runs callbacks, sent from any OS thread, in the eventlet hub of one OS thread.

    eventlet offers no thread-safe "call soon" (unlike gevent's
    ``loop.run_callback_threadsafe``), and polling with a green sleep would add
    latency and burn CPU while many engines wait. So, as eventlet's own
    ``tpool`` does, a pipe wakes the hub: senders append the callback to a
    deque (atomic under the GIL) and write one byte; a green thread waiting on
    the read end with ``trampoline`` drains the pipe and runs the callbacks.
    One pipe and one green thread per OS thread that waits on futures, not
    per wait, so ten thousand waiting engines do not cost ten thousand pipes.
    """

    def __init__(self) -> None:
        self._calls: collections.deque[Callable[[], None]] = collections.deque()
        self._read_fd, self._write_fd = _os.pipe()
        _os.set_blocking(self._read_fd, False)
        _os.set_blocking(self._write_fd, False)
        eventlet.spawn_n(self._run)

    def call_soon_threadsafe(self, fn: Callable[[], None]) -> None:
        self._calls.append(fn)
        try:
            _os.write(self._write_fd, b"\0")
        except BlockingIOError:
            pass  # The pipe is full of unread wake-ups, so the reader is about to run anyway.

    def _run(self) -> None:
        while True:
            eventlet.hubs.trampoline(self._read_fd, read=True)
            try:
                _os.read(self._read_fd, 65536)
            except OSError as exc:
                if exc.errno != errno.EAGAIN:
                    raise
            while self._calls:
                self._calls.popleft()()


# One per OS thread, created by that thread the first time it waits on futures.
_cross_thread_calls: dict[int, _CrossThreadCalls] = {}


def _calls_for_this_thread(ident: int) -> _CrossThreadCalls:
    calls = _cross_thread_calls.get(ident)
    if calls is None:
        calls = _cross_thread_calls[ident] = _CrossThreadCalls()
    return calls


class _EventletWakeup:
    """A one-shot eventlet Event, renewed after each wake, sent from the hub's thread only."""

    __slots__ = ("_calls", "_event", "_owner")

    def __init__(self) -> None:
        self._owner = _os_thread_ident()
        self._calls = _calls_for_this_thread(self._owner)
        self._event: Any = eventlet.event.Event()

    def notify(self) -> None:
        if _os_thread_ident() == self._owner:
            self._send()
        else:
            self._calls.call_soon_threadsafe(self._send)

    def _send(self) -> None:
        if not self._event.ready():
            self._event.send(None)

    def wait(self, timeout: float | None) -> None:
        self._event.wait(timeout)
        self._event = eventlet.event.Event()

    def close(self) -> None:
        pass


class _GreenThreadHandle:
    """Joins an eventlet GreenThread, whose own ``wait()`` has no timeout and re-raises."""

    __slots__ = ("_finished",)

    def __init__(self, thread: Any) -> None:
        self._finished: Any = eventlet.event.Event()
        thread.link(self._on_exit)

    def _on_exit(self, thread: Any) -> None:
        self._finished.send(None)

    def join(self, timeout: float | None = None) -> None:
        if not self._finished.ready():
            self._finished.wait(timeout)


class EventletHub(BaseHub):
    """Runs green threads as eventlet GreenThreads on the current thread's eventlet hub."""

    name = "eventlet"
    is_green = True

    @classmethod
    def patched(cls) -> bool:
        """Return whether eventlet's monkey patching is active."""
        return is_patched("eventlet")

    def spawn(self, fn: Callable[..., object], /, *args: Any, **kwargs: Any) -> _base.SpawnHandle:
        """Start ``fn(*args, **kwargs)`` in a new GreenThread and return a handle to join it."""
        return _GreenThreadHandle(eventlet.spawn(fn, *args, **kwargs))

    def spawn_raw(self, fn: Callable[..., object], /, *args: Any) -> None:
        """Start ``fn(*args)`` with :func:`eventlet.spawn_n` (no GreenThread object, no result)."""
        eventlet.spawn_n(fn, *args)

    def sleep(self, seconds: float) -> None:
        """Call :func:`eventlet.sleep`."""
        eventlet.sleep(seconds)

    def Event(self) -> _base.Event:
        """Return eventlet's green :class:`threading.Event` (eventlet's own Event is one-shot)."""
        return cast("_base.Event", eventlet.green.threading.Event())

    def Lock(self) -> _base.Lock:
        """Return an :class:`eventlet.lock.Lock`."""
        return cast("_base.Lock", eventlet.lock.Lock())

    def RLock(self) -> _base.Lock:
        """Return eventlet's green :class:`threading.RLock`."""
        return cast("_base.Lock", eventlet.green.threading.RLock())

    def Semaphore(self, value: int = 1) -> _base.Semaphore:
        """Return an :class:`eventlet.semaphore.Semaphore`."""
        return cast("_base.Semaphore", eventlet.semaphore.Semaphore(value))

    def Queue(self) -> _base.Queue[Any]:
        """Return an unbounded :class:`eventlet.queue.LightQueue`."""
        return cast("_base.Queue[Any]", eventlet.queue.LightQueue())

    def offload(self, fn: Callable[..., R], /, *args: Any, **kwargs: Any) -> R:
        """Run ``fn`` with :func:`eventlet.tpool.execute`; only the caller's green thread waits."""
        return cast("R", eventlet.tpool.execute(fn, *args, **kwargs))

    def new_wakeup(self) -> Wakeup:
        return _EventletWakeup()


hub_class: Final = EventletHub
