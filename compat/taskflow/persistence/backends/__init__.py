"""``taskflow.persistence.backends``: ``fetch()`` and ``backend()`` over greenflow's backends.

A backend is named by ``{'connection': URL}`` or a URL: ``memory://``,
``dir:///path``/``file:///path``, ``sqlite:///file.db`` and the other SQLAlchemy
URLs, as far as the greenflow installed provides them (an unavailable one
raises with the reason), and ZooKeeper (``{'connection': 'zookeeper', 'hosts':
..., 'path': ...}`` or ``zookeeper://h:2181/path``; ``client=`` a shared kazoo client).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from greenflow.persistence import MemoryBackend as _CoreMemoryBackend
from greenflow.persistence import fetch_backend

__all__ = ["BACKEND_NAMESPACE", "backend", "fetch"]

#: TaskFlow's entry-point namespace of backends (accepted, unused).
BACKEND_NAMESPACE = "taskflow.persistence"


def fetch(conf: Any, namespace: str = BACKEND_NAMESPACE, **kwargs: Any) -> Any:
    """The backend ``conf`` names (a URL or a dict with a ``'connection'`` URL)."""
    if isinstance(conf, str):
        conf = {"connection": conf}
    if isinstance(conf, dict):
        conf = {**conf, **kwargs}
    backend = fetch_backend(conf)
    if type(backend) is _CoreMemoryBackend:  # TaskFlow's memory backend has a ``memory`` view
        from taskflow.persistence.backends.impl_memory import MemoryBackend

        return MemoryBackend(backend.conf)
    return backend


@contextlib.contextmanager
def backend(conf: Any, namespace: str = BACKEND_NAMESPACE, **kwargs: Any) -> Iterator[Any]:
    """Fetch a backend, upgrade its schema, yield it, and close it afterwards."""
    be = fetch(conf, namespace=namespace, **kwargs)
    try:
        conn = be.get_connection()
        conn.upgrade()
        yield be
    finally:
        be.close()
