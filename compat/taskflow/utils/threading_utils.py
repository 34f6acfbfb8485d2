"""``taskflow.utils.threading_utils``: the thread helpers TaskFlow programs use."""

from __future__ import annotations

import multiprocessing
import threading
from collections.abc import Callable
from typing import Any

__all__ = ["daemon_thread", "get_ident", "get_optimal_thread_count", "is_alive"]


def get_ident() -> int:
    """The current thread's identifier."""
    return threading.get_ident()


def is_alive(thread: threading.Thread) -> bool:
    """Whether ``thread`` is running."""
    return thread.is_alive()


def get_optimal_thread_count(default: int = 2) -> int:
    """A thread count for CPU-sized pools: the CPU count, else ``default``."""
    try:
        return multiprocessing.cpu_count() + 1
    except NotImplementedError:
        return default


def daemon_thread(target: Callable[..., Any], *args: Any, **kwargs: Any) -> threading.Thread:
    """A (not started) daemon thread running ``target(*args, **kwargs)``."""
    thread = threading.Thread(target=target, args=args, kwargs=kwargs)
    thread.daemon = True
    return thread
