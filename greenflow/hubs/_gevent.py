"""The gevent hub: greenlets on gevent's loop, the primary green hub.

Importing this module imports gevent but patches nothing; :func:`get_hub`
only loads it in a process that :func:`greenflow.hubs.patch` (or the program
itself) has patched for gevent.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final, TypeVar, cast

import gevent
import gevent.event
import gevent.lock
import gevent.monkey
import gevent.queue
import gevent.thread
from greenlet import greenlet as _RawGreenlet

from greenflow.hubs import _base
from greenflow.hubs._futures import BaseHub, Wakeup
from greenflow.hubs._patching import is_patched

__all__ = ["GeventHub", "hub_class"]

R = TypeVar("R")

# The real OS thread id: after patching, _thread.get_ident returns greenlet ids.
_os_thread_ident: Callable[[], int] = gevent.monkey.get_original("_thread", "get_ident")


class _GeventWakeup:
    """A gevent Event, set directly from the hub's thread, or through the loop from others.

    ``loop.run_callback_threadsafe`` is gevent's documented way for another OS
    thread to get a callback run in this loop: it queues the callback and
    wakes the loop with its async watcher (an eventfd or pipe), so the
    waiting greenlet is resumed without the hub thread ever blocking.
    """

    __slots__ = ("_event", "_loop", "_owner")

    def __init__(self) -> None:
        self._event = gevent.event.Event()
        self._loop = gevent.get_hub().loop
        self._owner = _os_thread_ident()

    def notify(self) -> None:
        if _os_thread_ident() == self._owner:
            self._event.set()
        else:
            self._loop.run_callback_threadsafe(self._event.set)

    def wait(self, timeout: float | None) -> None:
        self._event.wait(timeout)
        self._event.clear()

    def close(self) -> None:
        pass


def _start_raw(fn: Callable[..., object], args: tuple[Any, ...]) -> None:
    """Run by the hub's loop (in the hub's greenlet): start ``fn(*args)`` in a bare greenlet of the hub."""
    _RawGreenlet(fn).switch(*args)


class GeventHub(BaseHub):
    """Runs green threads as gevent greenlets on the current thread's gevent hub."""

    name = "gevent"
    is_green = True

    @classmethod
    def patched(cls) -> bool:
        """Return whether gevent's monkey patching is active."""
        return is_patched("gevent")

    def spawn(self, fn: Callable[..., object], /, *args: Any, **kwargs: Any) -> _base.SpawnHandle:
        """Start ``fn(*args, **kwargs)`` in a new greenlet and return it."""
        return cast("_base.SpawnHandle", gevent.spawn(fn, *args, **kwargs))

    def spawn_raw(self, fn: Callable[..., object], /, *args: Any) -> None:
        """Start ``fn(*args)`` in a bare greenlet (no links, no spawn tree), as :func:`gevent.spawn_raw` does.

        Made here rather than by ``gevent.spawn_raw``: with gevent's default
        ``track_greenlet_tree``, that one gives each greenlet an instance dict,
        a weak reference and a spawn-tree dict (for ``gevent.util``'s tree
        printing), objects the collector scans for every atom in flight; the
        executors' workers are never shown in a tree.
        """
        # The greenlet is made when the loop runs the callback, not now: a green thread
        # queued behind thousands of others holds no greenlet (and its bound switch) meanwhile.
        gevent.get_hub().loop.run_callback(_start_raw, fn, args)

    def sleep(self, seconds: float) -> None:
        """Call :func:`gevent.sleep`."""
        gevent.sleep(seconds)

    def Event(self) -> _base.Event:
        """Return a :class:`gevent.event.Event`."""
        return cast("_base.Event", gevent.event.Event())

    def Lock(self) -> _base.Lock:
        """Return gevent's non-reentrant lock (what a patched :class:`threading.Lock` is)."""
        return cast("_base.Lock", gevent.thread.allocate_lock())

    def RLock(self) -> _base.Lock:
        """Return a :class:`gevent.lock.RLock`."""
        return cast("_base.Lock", gevent.lock.RLock())

    def Semaphore(self, value: int = 1) -> _base.Semaphore:
        """Return a :class:`gevent.lock.Semaphore`."""
        return cast("_base.Semaphore", gevent.lock.Semaphore(value))

    def Queue(self) -> _base.Queue[Any]:
        """Return an unbounded :class:`gevent.queue.SimpleQueue`."""
        return cast("_base.Queue[Any]", gevent.queue.SimpleQueue())

    def offload(self, fn: Callable[..., R], /, *args: Any, **kwargs: Any) -> R:
        """Run ``fn`` in the current gevent hub's thread pool; only the caller's greenlet waits."""
        return cast("R", gevent.get_hub().threadpool.apply(fn, args, kwargs))

    def new_wakeup(self) -> Wakeup:
        return _GeventWakeup()


hub_class: Final = GeventHub
