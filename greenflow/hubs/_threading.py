"""The threading hub: OS threads and the :mod:`threading` primitives.

A first-class mode, not a fallback: many engines are multiplexed from one
driver thread over a shared thread pool (see DESIGN.md).
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from typing import Any, Final, TypeVar

from greenflow.hubs import _base
from greenflow.hubs._futures import BaseHub, Wakeup
from greenflow.hubs._patching import active_patching

__all__ = ["ThreadingHub", "hub_class"]

R = TypeVar("R")


class _EventWakeup:
    """A :class:`~greenflow.hubs._futures.Wakeup` on a :class:`threading.Event` (already thread-safe)."""

    __slots__ = ("_event",)

    def __init__(self) -> None:
        self._event = threading.Event()

    def notify(self) -> None:
        self._event.set()

    def wait(self, timeout: float | None) -> None:
        self._event.wait(timeout)
        self._event.clear()

    def close(self) -> None:
        pass


class ThreadingHub(BaseHub):
    """Runs everything on OS threads; ``spawn`` starts a daemon thread."""

    name = "threading"
    is_green = False

    @classmethod
    def patched(cls) -> bool:
        """Return ``True`` when no green library has monkey-patched the process."""
        return active_patching() is None

    def spawn(self, fn: Callable[..., object], /, *args: Any, **kwargs: Any) -> _base.SpawnHandle:
        """Start ``fn(*args, **kwargs)`` on a new daemon thread and return it."""
        thread = threading.Thread(target=fn, args=args, kwargs=kwargs, daemon=True)
        thread.start()
        return thread

    def spawn_raw(self, fn: Callable[..., object], /, *args: Any) -> None:
        """Start ``fn(*args)`` on a new daemon thread."""
        threading.Thread(target=fn, args=args, daemon=True).start()

    def sleep(self, seconds: float) -> None:
        """Call :func:`time.sleep`."""
        time.sleep(seconds)

    def Event(self) -> _base.Event:
        """Return a :class:`threading.Event`."""
        return threading.Event()

    def Lock(self) -> _base.Lock:
        """Return a :class:`threading.Lock`."""
        return threading.Lock()

    def RLock(self) -> _base.Lock:
        """Return a :class:`threading.RLock`."""
        return threading.RLock()

    def Semaphore(self, value: int = 1) -> _base.Semaphore:
        """Return a :class:`threading.Semaphore`."""
        return threading.Semaphore(value)

    def Queue(self) -> _base.Queue[Any]:
        """Return a :class:`queue.SimpleQueue`."""
        return queue.SimpleQueue()

    def offload(self, fn: Callable[..., R], /, *args: Any, **kwargs: Any) -> R:
        """Call ``fn`` inline: the caller is already an OS thread."""
        return fn(*args, **kwargs)

    def new_wakeup(self) -> Wakeup:
        return _EventWakeup()


hub_class: Final = ThreadingHub
