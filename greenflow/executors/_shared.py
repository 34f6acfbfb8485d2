"""The executors engines share when they are given none: one per hub and OS thread."""

from __future__ import annotations

import threading
from typing import Final

from greenflow.executors._base import Executor
from greenflow.executors._factory import EXECUTORS, default_executor_name
from greenflow.hubs import Hub

__all__ = ["SHARED_GREEN_WORKERS", "SHARED_THREAD_WORKERS", "shared_executor"]

#: Bound of the shared green pool: green threads are cheap, so the bound is
#: there to stop a runaway, not to ration (100,000 engines of 3 parallel atoms
#: stay within it while they wait).
SHARED_GREEN_WORKERS: Final = 500_000
#: Bound of the shared thread pool under the threading hub.
SHARED_THREAD_WORKERS: Final = 64

_shared: dict[tuple[str, int], Executor] = {}
_lock = threading.Lock()


def shared_executor(hub: Hub) -> Executor:
    """The process-wide executor for ``hub`` (green pool on a green hub, threads otherwise).

    Green pools are per OS thread, because each OS thread runs its own hub.
    Nobody shuts these down but the interpreter at exit; engines never do.
    """
    # get_native_id: under monkey patching get_ident() names the green thread, not the OS one.
    key = (hub.name, threading.get_native_id() if hub.is_green else 0)
    executor = _shared.get(key)
    if executor is None:
        with _lock:
            executor = _shared.get(key)
            if executor is None:
                workers = SHARED_GREEN_WORKERS if hub.is_green else SHARED_THREAD_WORKERS
                executor = EXECUTORS[default_executor_name(hub)](workers, hub)
                _shared[key] = executor
    return executor
