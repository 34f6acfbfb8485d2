"""The :class:`Hub` protocol and the protocols of the primitives a hub hands out.

The engine, executors and storage take every concurrency primitive from a hub,
so the same code runs on gevent, eventlet or plain threads. The protocols below
are the whole surface a hub must offer; they are deliberately the subset that
``threading``, ``gevent`` and ``eventlet`` share, so a hub can hand out the
library's own objects without wrapping them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import Future
from types import TracebackType
from typing import Any, Protocol, TypeVar

__all__ = [
    "Event",
    "Hub",
    "Lock",
    "Queue",
    "Semaphore",
    "SpawnHandle",
    "Wakeup",
]

T = TypeVar("T")
R = TypeVar("R")


class SpawnHandle(Protocol):
    """What :meth:`Hub.spawn` returns: a green thread or OS thread that can be joined."""

    def join(self, timeout: float | None = None) -> None:
        """Wait until the spawned function has returned (or ``timeout`` seconds passed)."""


class Event(Protocol):
    """A resettable flag, like :class:`threading.Event`."""

    def set(self) -> None:
        """Set the flag and wake every waiter."""

    def is_set(self) -> bool:
        """Return whether the flag is set."""

    def clear(self) -> None:
        """Reset the flag."""

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the flag is set or ``timeout`` passed; return the flag."""


class Lock(Protocol):
    """A mutual-exclusion lock, usable as a context manager, like :class:`threading.Lock`."""

    def acquire(self, blocking: bool = ...) -> bool:
        """Acquire the lock; with ``blocking=False`` return ``False`` instead of waiting."""

    def release(self) -> None:
        """Release the lock."""

    def __enter__(self) -> Any:
        """Acquire the lock."""

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> Any:
        """Release the lock."""


class Semaphore(Protocol):
    """A counting semaphore, usable as a context manager, like :class:`threading.Semaphore`."""

    def acquire(self, blocking: bool = ...) -> bool:
        """Take one slot; with ``blocking=False`` return ``False`` instead of waiting."""

    def release(self) -> None:
        """Give one slot back."""

    def __enter__(self) -> Any:
        """Take one slot."""

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> Any:
        """Give the slot back."""


class Queue(Protocol[T]):
    """An unbounded FIFO queue, like :class:`queue.SimpleQueue`; ``get`` raises :class:`queue.Empty`."""

    def put(self, item: T) -> None:
        """Append ``item``; never blocks (the queue is unbounded)."""

    def put_nowait(self, item: T) -> None:
        """Append ``item``; the same as :meth:`put`."""

    def get(self, block: bool = True, timeout: float | None = None) -> T:
        """Remove and return the oldest item; after ``timeout`` seconds raise ``queue.Empty``."""

    def get_nowait(self) -> T:
        """Remove and return the oldest item, or raise :class:`queue.Empty` at once."""

    def qsize(self) -> int:
        """Return the number of queued items."""

    def empty(self) -> bool:
        """Return whether the queue holds no item."""


class Wakeup(Protocol):
    """A one-waiter doorbell: ``wait`` blocks the current green or OS thread until ``notify``.

    ``notify`` is safe to call from any OS thread, even with a future's lock
    held: it never blocks or switches green threads. A ``notify`` before the
    ``wait`` is not lost (the next ``wait`` returns at once).
    """

    def notify(self) -> None:
        """Wake the waiter (now or, if it is not waiting yet, at its next ``wait``)."""

    def wait(self, timeout: float | None) -> None:
        """Block until notified or until ``timeout`` seconds passed, then reset."""

    def close(self) -> None:
        """Release what the wakeup holds; it is not used afterwards."""


class Hub(Protocol):
    """One way of running concurrent code: gevent, eventlet or OS threads.

    Hubs are per-process singletons returned by :func:`greenflow.hubs.get_hub`.
    Primitives from a green hub are meant for the OS thread running that hub;
    only :meth:`wait_for_any` and :meth:`wait_for_all` are woken safely by
    futures completed in other OS threads.
    """

    @property
    def name(self) -> str:
        """``"gevent"``, ``"eventlet"`` or ``"threading"``."""

    @property
    def is_green(self) -> bool:
        """Whether :meth:`spawn` starts green threads (``True``) or OS threads."""

    @classmethod
    def patched(cls) -> bool:
        """Whether this hub's monkey patching is active in the process (never imports the library)."""

    def spawn(self, fn: Callable[..., object], /, *args: Any, **kwargs: Any) -> SpawnHandle:
        """Start ``fn(*args, **kwargs)`` concurrently and return a handle to join it.

        The result is discarded and an uncaught exception is reported the way
        the library reports it; use :meth:`executor` to get results back.
        """

    def spawn_raw(self, fn: Callable[..., object], /, *args: Any) -> None:
        """Start ``fn(*args)`` concurrently, fire and forget: the cheapest way to start work.

        Nothing can join it; an uncaught exception is reported the way the
        library reports it. Executors use this for their workers.
        """

    def sleep(self, seconds: float) -> None:
        """Pause the caller for ``seconds``, letting other green threads run."""

    def monotonic(self) -> float:
        """Return the clock used for every timeout, in seconds."""

    def Event(self) -> Event:
        """Return a new :class:`Event` for this hub."""

    # RLock comes before Lock: inside this class, the name Lock then means the method.
    def RLock(self) -> Lock:
        """Return a new reentrant :class:`Lock` for this hub."""

    def Lock(self) -> Lock:
        """Return a new non-reentrant :class:`Lock` for this hub."""

    def Semaphore(self, value: int = 1) -> Semaphore:
        """Return a new :class:`Semaphore` with ``value`` slots."""

    def Queue(self) -> Queue[Any]:
        """Return a new unbounded :class:`Queue` for this hub."""

    def wait_for_any(
        self, futures: Iterable[Future[Any]], timeout: float | None = None
    ) -> tuple[set[Future[Any]], set[Future[Any]]]:
        """Wait until at least one future is done; return ``(done, not_done)``.

        Futures may come from any executor (green, thread, process, or made by
        hand) and may be completed from any OS thread (under eventlet, only
        where the future's own lock allows it: see ``greenflow.hubs._eventlet``).
        A green hub keeps running other green threads while the caller waits.
        """

    def wait_for_all(
        self, futures: Iterable[Future[Any]], timeout: float | None = None
    ) -> tuple[set[Future[Any]], set[Future[Any]]]:
        """Wait until every future is done or ``timeout`` passed; return ``(done, not_done)``."""

    def new_wakeup(self) -> Wakeup:
        """Return a new :class:`Wakeup`: waited on in this thread, rung from any OS thread."""

    def offload(self, fn: Callable[..., R], /, *args: Any, **kwargs: Any) -> R:
        """Run ``fn(*args, **kwargs)`` on a real OS thread and return its result.

        For CPU-bound code and blocking C calls: a green hub keeps running
        other green threads meanwhile. The threading hub calls ``fn`` inline,
        since the caller is already an OS thread.
        """
