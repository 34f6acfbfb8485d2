"""Backends shared per process: one backend object per distinct configuration.

``load(flow, backend=URL)`` is the style TaskFlow's documentation shows, and
services call it once per flow. Making a backend per call would give every
engine its own connection pool (1,000 engines, 1,000 pools: the server
refuses connections) and its own writer (no group commit across engines).
``shared_backend(conf)`` instead returns the backend made for the first equal
configuration in this process, and closes every such backend when the
process exits.

Two configurations are equal when their dicts are (a URL alone is
``{'connection': URL}``). ``memory://`` is not shared: a shared in-memory
store would keep every run of the process alive; each call gets a new one,
as before. ``fetch_backend()`` always makes a new backend, owned by its
caller.
"""

from __future__ import annotations

import atexit
import json
import threading
from typing import Any

__all__ = ["close_shared_backends", "shared_backend", "shared_backends"]

# Held while looking up or creating a backend: constructors do no I/O (nothing
# connects before get_connection()), so the lock never spans a green switch.
_LOCK = threading.Lock()
_BACKENDS: dict[str, Any] = {}


def _key(conf: dict[str, Any]) -> str:
    # Option values are plain data (numbers, strings, dicts of connect_args); repr
    # covers anything else so that an odd value still yields a stable key.
    return json.dumps(conf, sort_keys=True, default=repr)


def shared_backend(conf: Any) -> Any:
    """The process's backend for ``conf`` (a URL or ``{'connection': URL, ...}``), made on first use."""
    from greenflow.persistence import fetch_backend

    if isinstance(conf, str):
        conf = {"connection": conf}
    if isinstance(conf, dict) and str(conf.get("connection", "")).split(":", 1)[0] == "memory":
        return fetch_backend(conf)
    key = _key(conf) if isinstance(conf, dict) else None
    if key is None:
        return fetch_backend(conf)  # raises the precise error for a bad argument
    with _LOCK:
        backend = _BACKENDS.get(key)
        if backend is None:
            backend = _BACKENDS[key] = fetch_backend(conf)
    return backend


def shared_backends() -> list[Any]:
    """The shared backends made so far in this process."""
    with _LOCK:
        return list(_BACKENDS.values())


def close_shared_backends() -> None:
    """Close every shared backend (done at exit); later ``shared_backend()`` calls make new ones."""
    with _LOCK:
        backends = list(_BACKENDS.values())
        _BACKENDS.clear()
    for backend in backends:
        try:
            backend.close()
        except Exception:  # at exit a server may be gone already: close the others anyway
            pass


atexit.register(close_shared_backends)
