"""Hubs: one small protocol over gevent, eventlet and OS threads.

Everything above this layer (executors, engines, storage) takes its
concurrency primitives from a :class:`Hub` and never imports gevent, eventlet
or :mod:`threading` primitives itself. Each hub is one private module
(``_gevent``, ``_eventlet``, ``_threading``) ending in ``hub_class = ...``;
:func:`get_hub` imports only the one asked for. Importing this package never
imports gevent or eventlet and never monkey-patches: programs call
:func:`patch` at the very top, before anything else.

Typical use::

    import greenflow.hubs
    greenflow.hubs.patch("gevent")          # first lines of the program

    hub = greenflow.hubs.get_hub()          # -> the gevent hub (detected)
    done, not_done = hub.wait_for_any(futures, timeout=5)
"""

from greenflow.exceptions import (
    HubConfigError,
    HubError,
    HubMismatchError,
    HubNotPatchedError,
    HubUnavailableError,
    UnknownHubError,
)
from greenflow.hubs._base import Event, Hub, Lock, Queue, Semaphore, SpawnHandle, Wakeup
from greenflow.hubs._patching import active_patching, patch
from greenflow.hubs._selection import (
    HUB_NAMES,
    HubChoice,
    get_hub,
    resolve_hub,
    select_hub,
    select_hub_name,
)

__all__ = [
    "HUB_NAMES",
    "Event",
    "Hub",
    "HubChoice",
    "HubConfigError",
    "HubError",
    "HubMismatchError",
    "HubNotPatchedError",
    "HubUnavailableError",
    "Lock",
    "Queue",
    "Semaphore",
    "SpawnHandle",
    "UnknownHubError",
    "Wakeup",
    "active_patching",
    "get_hub",
    "patch",
    "resolve_hub",
    "select_hub",
    "select_hub_name",
]
