"""Detecting and applying gevent or eventlet monkey patching.

Detection only looks at modules already imported: a library that was never
imported cannot have patched anything, and importing it just to ask would be
slow and, for eventlet, print a deprecation warning.
"""

from __future__ import annotations

import importlib
import sys
from typing import Final

from greenflow.exceptions import (
    HubMismatchError,
    HubUnavailableError,
    UnknownHubError,
)

__all__ = ["GREEN_HUBS", "active_patching", "is_patched", "os_sleep", "patch"]

#: The hubs that need the process monkey-patched, in detection order.
GREEN_HUBS: Final = ("gevent", "eventlet")

# The module whose patching marks a process as patched: blocking socket I/O in
# tasks is what would freeze a green hub, so "socket is green" is the signal.
_MARKER_MODULE: Final = "socket"


def is_patched(name: str) -> bool:
    """Return whether ``gevent`` or ``eventlet`` monkey patching is active; ``False`` for other names."""
    if name == "gevent":
        monkey = sys.modules.get("gevent.monkey")
        return monkey is not None and bool(monkey.is_module_patched(_MARKER_MODULE))
    if name == "eventlet":
        patcher = sys.modules.get("eventlet.patcher")
        return patcher is not None and bool(patcher.is_monkey_patched(_MARKER_MODULE))
    return False


# Monkey patching cannot be undone: once seen, the answer is kept.
_seen_patching: list[str] = []


def active_patching() -> str | None:
    """Return ``"gevent"`` or ``"eventlet"`` if that library has monkey-patched the process, else ``None``."""
    if _seen_patching:
        return _seen_patching[0]
    for name in GREEN_HUBS:
        if is_patched(name):
            _seen_patching.append(name)
            return name
    return None


def os_sleep(seconds: float) -> None:
    """Sleep the calling OS thread, whatever the patching (``time.sleep`` may be green).

    For code on a real thread beside a green hub (the hub's offload threads): a
    green sleep there would start a hub of that thread's own.
    """
    active = active_patching()
    if active == "gevent":
        sys.modules["gevent.monkey"].get_original("time", "sleep")(seconds)
    elif active == "eventlet":
        sys.modules["eventlet.patcher"].original("time").sleep(seconds)
    else:
        import time

        time.sleep(seconds)


def patch(name: str) -> None:
    """Monkey-patch the whole process for the ``gevent`` or ``eventlet`` hub.

    Call it at the very top of the program, before anything else is imported:
    ``gevent.monkey.patch_all()`` or ``eventlet.monkey_patch()`` then runs with
    the library's defaults. Calling it again for the same hub does nothing.

    Raises:
        UnknownHubError: ``name`` is not ``"gevent"`` or ``"eventlet"``.
        HubMismatchError: the process is already patched by the other library.
        HubUnavailableError: the library is not installed.
    """
    if name not in GREEN_HUBS:
        raise UnknownHubError(
            f"cannot patch for hub {name!r}: patch() takes 'eventlet' or 'gevent'"
            " (the 'threading' hub needs no patching)"
        )
    active = active_patching()
    if active == name:
        return
    if active is not None:
        raise HubMismatchError(
            f"cannot patch the process for {name!r}: it is already monkey-patched by {active};"
            " a process can be patched by one library only"
        )
    module = "gevent.monkey" if name == "gevent" else "eventlet"
    try:
        library = importlib.import_module(module)
    except ImportError as exc:
        raise HubUnavailableError(missing_library_message(name)) from exc
    if name == "gevent":
        library.patch_all()
    else:
        library.monkey_patch()


def missing_library_message(name: str) -> str:
    """Return the error message for a green hub whose library is not installed."""
    return (
        f"hub {name!r} needs the {name} library, which is not installed;"
        f" install it with: pip install greenflow[{name}]"
    )
